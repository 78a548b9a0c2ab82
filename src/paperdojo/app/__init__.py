"""The Gradio study app: a thin view over `paperdojo.workspace.Workspace`."""
