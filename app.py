"""paperdojo's app entry point. The Gradio app is not built yet (issue 4): until it is, this runs
the command line, so `python app.py papers` and `paperdojo papers` are the same."""

import sys

from paperdojo.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["papers"]))
