"""View controls: original / heatmap / mask / outline, opacity, colour map and colour range."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSlider,
    QWidget,
)

from app.layers import COLORMAPS, VIEW_MODES
from app.wheel_guard import guard_wheel

#: Colour range choices; the first stretches the colour map over the heatmap's own values.
COLOUR_RANGES = ("Stretch to this map's values", "Fixed 0 to 1")


class OverlayPanel(QWidget):
    """Emits ``changed()`` whenever the view mode or colour map changes, ``opacityChanged(float)`` for opacity."""

    changed = Signal()
    opacityChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QFormLayout(self)
        modes = QHBoxLayout()
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for index, mode in enumerate(VIEW_MODES):
            button = QRadioButton(mode.capitalize())
            self.group.addButton(button, index)
            self.buttons[mode] = button
            modes.addWidget(button)
        self.buttons["heatmap"].setChecked(True)
        layout.addRow("View:", modes)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self.opacity_label = QLabel()
        self.opacity_label.setMinimumWidth(QLabel("100 %").sizeHint().width())
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(self.opacity, 1)
        opacity_row.addWidget(self.opacity_label)
        layout.addRow("Opacity:", opacity_row)
        self.colormap = QComboBox()
        self.colormap.addItems(list(COLORMAPS))
        layout.addRow("Colour map:", self.colormap)
        self.colour_range = QComboBox()
        self.colour_range.addItems(list(COLOUR_RANGES))
        self.colour_range.setToolTip("Stretch the colours over the values this heatmap takes, or keep the fixed "
                                     "0 to 1 scale shared by all heatmaps (display only).")
        layout.addRow("Colour range:", self.colour_range)
        self.range_label = QLabel("")
        self.range_label.setStyleSheet("color: #444;")
        layout.addRow("", self.range_label)
        self.group.idToggled.connect(lambda _id, on: on and self.changed.emit())
        self.colormap.currentTextChanged.connect(lambda _text: self.changed.emit())
        self.colour_range.currentTextChanged.connect(lambda _text: self.changed.emit())
        self.opacity.valueChanged.connect(self._opacity_moved)
        self.group.idToggled.connect(lambda _id, on: on and self._enable_for_mode())
        self._opacity_moved(self.opacity.value())
        self._enable_for_mode()
        guard_wheel(self)

    def _opacity_moved(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        self.opacityChanged.emit(value / 100.0)

    def _enable_for_mode(self) -> None:
        """Enable only the controls that act in the current mode (outline: none of them)."""
        mode = self.mode()
        self.opacity.setEnabled(mode in ("heatmap", "mask"))
        self.opacity_label.setEnabled(mode in ("heatmap", "mask"))
        for control in (self.colormap, self.colour_range):
            control.setEnabled(mode == "heatmap")

    def mode(self) -> str:
        """The selected view: one of :data:`app.layers.VIEW_MODES`."""
        return VIEW_MODES[max(self.group.checkedId(), 0)]

    def set_mode(self, mode: str) -> None:
        """Select a view mode."""
        self.buttons[mode].setChecked(True)

    def opacity_value(self) -> float:
        """Layer opacity in [0, 1]."""
        return self.opacity.value() / 100.0

    def stretched(self) -> bool:
        """True when the colours are stretched over the heatmap's own range."""
        return self.colour_range.currentIndex() == 0

    def show_range(self, low: float | None, high: float | None) -> None:
        """Say which heatmap values the colour map spans (None: no heatmap shown)."""
        self.range_label.setText("" if low is None or high is None else
                                 f"colours span heatmap values {low:.2f} to {high:.2f}")

    def colormap_name(self) -> str:
        """The selected colour map's name."""
        return self.colormap.currentText()
