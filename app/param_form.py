"""A form of editors generated from a detector's declared :class:`Parameter` list."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLineEdit, QSpinBox, QWidget

from forensics_core.detectors import Parameter

_INT_LIMIT = 2**31 - 1


def make_editor(param: Parameter) -> QWidget:
    """The editor widget for one parameter, set to its default."""
    if param.choices:
        editor: QWidget = QComboBox()
        editor.addItems(list(param.choices))
        editor.setCurrentText(str(param.default))
    elif param.kind is bool:
        editor = QCheckBox()
        editor.setChecked(bool(param.default))
    elif param.kind is int:
        editor = QSpinBox()
        editor.setRange(int(param.minimum if param.minimum is not None else -_INT_LIMIT),
                        int(param.maximum if param.maximum is not None else _INT_LIMIT))
        editor.setValue(int(param.default))
    elif param.kind is float:
        editor = QDoubleSpinBox()
        editor.setDecimals(4)
        editor.setRange(param.minimum if param.minimum is not None else -1e12,
                        param.maximum if param.maximum is not None else 1e12)
        span = (param.maximum - param.minimum) if None not in (param.minimum, param.maximum) else 1.0
        editor.setSingleStep(max(span / 100.0, 1e-4))
        editor.setValue(float(param.default))
    else:
        editor = QLineEdit(str(param.default))
    editor.setToolTip(param.help)
    return editor


def editor_value(editor: QWidget) -> Any:
    """The current value of an editor made by :func:`make_editor`."""
    if isinstance(editor, QComboBox):
        return editor.currentText()
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        return editor.value()
    return editor.text()


class ParameterForm(QWidget):
    """Editors for a list of parameters; :meth:`values` returns them by name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._editors: dict[str, QWidget] = {}

    def set_parameters(self, parameters: Sequence[Parameter]) -> None:
        """Replace the editors with ones for ``parameters`` at their defaults."""
        while self._layout.rowCount():
            self._layout.removeRow(0)
        self._editors = {}
        for param in parameters:
            editor = make_editor(param)
            self._editors[param.name] = editor
            self._layout.addRow((param.label or param.name) + ":", editor)

    def values(self) -> dict[str, Any]:
        """Current values of every parameter, by name."""
        return {name: editor_value(editor) for name, editor in self._editors.items()}

    def editor(self, name: str) -> QWidget:
        """The editor of parameter ``name``."""
        return self._editors[name]
