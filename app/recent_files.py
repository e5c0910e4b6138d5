"""The recent-files list, kept in QSettings."""

from __future__ import annotations

from PySide6.QtCore import QSettings

KEY = "recent_files"
LIMIT = 10


class RecentFiles:
    """Most recently opened paths first, at most :data:`LIMIT`."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[str]:
        """The stored paths, most recent first."""
        value = self.settings.value(KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(p) for p in (value or [])]

    def add(self, path: str) -> None:
        """Put ``path`` first."""
        paths = [path] + [p for p in self.paths() if p != path]
        self.settings.setValue(KEY, paths[:LIMIT])
        self.settings.sync()
