"""Check that Qt's X11 window plugin (xcb) can load, and print the one command that fixes it.

``make run`` calls this before opening the workbench. On Linux, Qt's ``libqxcb.so`` plugin
needs system libraries that a minimal Debian or Ubuntu (a server, a container, a fresh Xvfb
set-up) lacks; Qt then fails with "Could not load the Qt platform plugin xcb" and no hint. This
script runs ``ldd`` on the plugin shipped in the PySide6 wheel, maps every library reported "not
found" to its Debian/Ubuntu package and prints one ``apt-get install`` line. It does not import
Qt, and it exits 0 when there is nothing to check (not Linux, another Qt platform chosen, no
``ldd``). Exit codes: 0 fine, 1 libraries missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

#: Debian/Ubuntu package of each library Qt's xcb plugin and the Qt libraries it loads need.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}


def missing_libraries(ldd_output: str) -> list[str]:
    """The library names ``ldd`` reported as "not found", in order, without repeats."""
    missing: list[str] = []
    for line in ldd_output.splitlines():
        name, _, where = line.strip().partition("=>")
        if where.strip().startswith("not found") and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def install_command(missing: list[str]) -> tuple[str, list[str]]:
    """The ``apt-get install`` line for the known libraries, and the libraries with no known package."""
    packages = sorted({DEBIAN_PACKAGES[name] for name in missing if name in DEBIAN_PACKAGES})
    unknown = [name for name in missing if name not in DEBIAN_PACKAGES]
    return ("sudo apt-get install -y " + " ".join(packages)) if packages else "", unknown


def xcb_plugin() -> Path | None:
    """The xcb platform plugin shipped with PySide6, located without importing Qt."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def main() -> int:
    """Print what is missing and how to install it; returns the exit code."""
    platform = os.environ.get("QT_QPA_PLATFORM", "xcb")
    if not sys.platform.startswith("linux") or not platform.startswith("xcb") or shutil.which("ldd") is None:
        return 0
    plugin = xcb_plugin()
    if plugin is None:
        return 0
    output = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=False).stdout
    missing = missing_libraries(output)
    if not missing:
        return 0
    command, unknown = install_command(missing)
    print("Qt's window plugin (xcb) cannot load: these system libraries are missing:", ", ".join(missing),
          file=sys.stderr)
    if command:
        print(f"On Debian or Ubuntu, install them with:\n\n    {command}\n", file=sys.stderr)
    if unknown:
        print("No package is known here for: " + ", ".join(unknown) + " (search your distribution for them).",
              file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
