"""``python -m app [IMAGE] [--detector ID]``: open the workbench."""

from __future__ import annotations

import argparse
import sys

from app.main import run_gui


def main() -> int:
    """Parse the command line and run the GUI."""
    parser = argparse.ArgumentParser(prog="python -m app", description="Open the Tamper Workbench.")
    parser.add_argument("image", nargs="?")
    parser.add_argument("--detector", default=None)
    args = parser.parse_args()
    return run_gui(args.image, args.detector)


if __name__ == "__main__":
    sys.exit(main())
