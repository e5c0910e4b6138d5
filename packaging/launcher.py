"""Entry point of the desktop bundle: the ``tamper-workbench`` command; with no arguments, the workbench.

Double-clicking the bundled program opens the GUI; in a terminal it takes the same sub-commands
as the installed command (``detectors``, ``analyze``, ...).
"""

import multiprocessing
import sys

from forensics_core.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes of a frozen program start through this entry
    sys.exit(main(sys.argv[1:] or ["gui"]))
