"""paperdojo's study app: `python app.py` serves it on http://127.0.0.1:7860.

Flags override settings (env PAPERDOJO_APP_HOST, PAPERDOJO_APP_PORT, PAPERDOJO_AUTH, ...). With
accounts (`paperdojo users add NAME`) everyone logs in and has their own progress; several processes
can serve one home with --read-only and PAPERDOJO_PROGRESS_URL=postgresql://... (see the README).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from paperdojo.app.ui import launch  # noqa: E402
from paperdojo.library.store import IndexProblem  # noqa: E402
from paperdojo.settings import Settings  # noqa: E402
from paperdojo.workspace import Workspace  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--home", type=Path, help="folder holding ingest/ and index/")
    parser.add_argument("--pdf-dir", action="append", type=Path, help="local PDFs for 'build index'")
    parser.add_argument("--watch", action="append", type=Path, metavar="DIR",
                        help="keep the library in step with this folder of PDFs while the app runs")
    parser.add_argument("--read-only", action="store_true", default=None,
                        help="never write to the index (add / rebuild / watch refused): one of several "
                        "processes serving a home; `paperdojo ingest` updates it and the app follows")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:  # a bad paperdojo.toml or PAPERDOJO_* value: one line naming it, not a traceback
        settings = Settings.load(home=args.home, app_host=args.host, app_port=args.port,
                                 app_pdf_dirs=args.pdf_dir, watch_dirs=args.watch,
                                 app_read_only=args.read_only)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    workspace = Workspace(settings)
    if settings.watch_dirs:
        try:
            workspace.start_watching(settings.watch_dirs)
        except IndexProblem as exc:  # --read-only with --watch
            raise SystemExit(f"error: {exc}") from exc
    launch(workspace, settings.app_host, settings.app_port, settings.auth)


if __name__ == "__main__":
    main()
