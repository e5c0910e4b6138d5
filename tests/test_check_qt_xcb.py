"""``make run``'s check of Qt's xcb plugin: missing libraries become one apt-get line."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_qt_xcb.py"
spec = importlib.util.spec_from_file_location("check_qt_xcb", SCRIPT)
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)

LDD_FRESH_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibmystery.so.3 => not found
"""


def test_missing_libraries_are_read_from_ldd_once_each():
    assert check.missing_libraries(LDD_FRESH_DEBIAN) == [
        "libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libmystery.so.3"]


def test_one_install_line_names_every_package():
    command, unknown = check.install_command(check.missing_libraries(LDD_FRESH_DEBIAN))
    assert command == "sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
    assert unknown == ["libmystery.so.3"]


def test_nothing_missing_gives_no_command():
    assert check.missing_libraries("\tlibxcb.so.1 => /lib/libxcb.so.1 (0x1)\n") == []
    assert check.install_command([]) == ("", [])

