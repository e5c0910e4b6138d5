"""The command line starts fast and reads cleanly: --version, plain --help, progress once per step.

Start-up speed is enforced structurally, not by timing: ``--help`` and ``detectors`` must not
import the heavy libraries (PyTorch, SciPy, scikit-image, scikit-learn, Qt), which cost seconds
to load. A detector module keeps such imports inside the functions that run an analysis.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from forensics_core import __version__
from forensics_core.cli import _item_progress, main

#: Libraries a listing or help must not load (each takes 0.3 s to several seconds to import).
HEAVY = ("torch", "scipy", "skimage", "sklearn", "PySide6", "pyqtgraph", "matplotlib")

_PROBE = """
import sys
from forensics_core.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
heavy = sorted(name for name in {heavy!r} if name in sys.modules)
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


def _heavy_modules_after(argv: list[str]) -> list[str]:
    code = _PROBE.format(argv=argv, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    line = [row for row in done.stderr.splitlines() if row.startswith("HEAVY=")]
    assert line, done.stderr
    return [name for name in line[-1][len("HEAVY="):].split(",") if name]


def _first_importers() -> str:
    """Which detector module first pulls in each heavy library, importing them in order (for the message)."""
    code = ("import sys, importlib\n"
            "from forensics_core.detectors import DETECTOR_MODULES\n"
            f"heavy = {HEAVY!r}\n"
            "for name in DETECTOR_MODULES:\n"
            "    before = {h for h in heavy if h in sys.modules}\n"
            "    importlib.import_module('forensics_core.detectors.' + name)\n"
            "    new = sorted({h for h in heavy if h in sys.modules} - before)\n"
            "    if new:\n"
            "        print(name, 'imports', ', '.join(new))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    return done.stdout.strip().replace("\n", "; ") or done.stderr[-500:]


@pytest.mark.parametrize("argv", [["--help"], ["detectors"], ["detectors", "--json"], ["analyze", "--help"]])
def test_help_and_listing_do_not_import_heavy_libraries(argv):
    heavy = _heavy_modules_after(argv)
    if heavy:
        pytest.fail(f"'tamper-workbench {' '.join(argv)}' imported {heavy} ({_first_importers()}). "
                    "Import heavy libraries inside the functions that use them.")


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"tamper-workbench {__version__}"


def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text
    assert "--version" in text and "Exit codes" in text


def test_progress_written_once_per_item_when_redirected(capsys):
    on_item, close = _item_progress("evaluate", enabled=True)  # pytest's stderr is not a terminal
    for index, name in enumerate(("a.png", "b.png", "c.png"), start=1):
        on_item(index, 3, name)
    close()
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["evaluate: 1/3 a.png", "evaluate: 2/3 b.png", "evaluate: 3/3 c.png"]


def test_quiet_progress_writes_nothing(capsys):
    on_item, close = _item_progress("evaluate", enabled=False)
    on_item(1, 1, "a.png")
    close()
    assert capsys.readouterr().err == ""
