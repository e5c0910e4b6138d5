"""Mouse-wheel guard: editors in scrolling panels change only when the examiner has focused them.

Without it, scrolling a panel with the wheel changes whatever spin box, combo box or slider
passes under the pointer (a device choice switched from auto to cuda, a parameter halved). The
guarded widgets take keyboard focus by click or Tab only, and an unfocused one passes the wheel
on to its scroll area.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QSlider, QWidget

GUARDED_TYPES = (QAbstractSpinBox, QComboBox, QSlider)


class WheelGuard(QObject):
    """Event filter that refuses wheel events to unfocused editors, so their scroll area gets them."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()  # propagates to the parent, i.e. the scroll area
            return True
        return False


_GUARD = WheelGuard()


def guard_wheel(widget: QWidget) -> None:
    """Guard ``widget`` if it is an editor, and every editor inside it."""
    editors = [widget] if isinstance(widget, GUARDED_TYPES) else []
    editors += [child for child in widget.findChildren(QWidget) if isinstance(child, GUARDED_TYPES)]
    for editor in editors:
        editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        editor.installEventFilter(_GUARD)
