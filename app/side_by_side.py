"""Two results side by side, zoom and pan synced in image coordinates."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QDialog, QGridLayout, QWidget

from app.image_view import ImageView
from app.results_panel import describe_result
from app.session import ResultState

#: Draws a result's layer into a view: ``paint(view, state)``.
LayerPainter = Callable[[ImageView, ResultState], None]
#: Characters a result chooser shows before eliding (its tooltip has the whole description).
CHOOSER_CHARS = 40
#: Largest share of the screen the dialog opens at.
SCREEN_SHARE = 0.9


class SideBySideDialog(QDialog):
    """Two image views of the same picture whose view boxes are linked on both axes."""

    def __init__(self, picture: np.ndarray, states: Sequence[ResultState], paint: LayerPainter,
                 first: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Side by side")
        self.states, self.paint = list(states), paint
        layout = QGridLayout(self)
        self.views: list[ImageView] = []
        self.choices: list[QComboBox] = []
        for column in range(2):
            choice = QComboBox()
            # A result's description holds every parameter; sized to it, the dialog grew wider than the screen.
            choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            choice.setMinimumContentsLength(CHOOSER_CHARS)
            for index, state in enumerate(self.states, start=1):
                text = describe_result(index, state.result)
                choice.addItem(text)
                choice.setItemData(index - 1, text, Qt.ItemDataRole.ToolTipRole)
            view = ImageView()
            view.set_picture(picture)
            layout.addWidget(choice, 0, column)
            layout.addWidget(view, 1, column)
            self.views.append(view)
            self.choices.append(choice)
            choice.currentIndexChanged.connect(lambda index, c=column: self._show(c, index))
        self.views[1].view.setXLink(self.views[0].view)
        self.views[1].view.setYLink(self.views[0].view)
        self.choices[0].setCurrentIndex(first)
        self.choices[1].setCurrentIndex((first + 1) % len(self.states))
        self._show(0, self.choices[0].currentIndex())
        self._show(1, self.choices[1].currentIndex())
        self._fit_screen(parent)

    def _fit_screen(self, parent: QWidget | None) -> None:
        """Open at most :data:`SCREEN_SHARE` of the screen, and never wider than it."""
        screen = (parent.screen() if parent is not None else None) or QGuiApplication.primaryScreen()
        available = screen.availableGeometry()
        width, height = int(available.width() * SCREEN_SHARE), int(available.height() * SCREEN_SHARE)
        self.setMaximumWidth(available.width())
        self.resize(min(1400, width), min(760, height))
        for choice in self.choices:
            choice.view().setMinimumWidth(min(choice.view().sizeHintForColumn(0) + 24, available.width() // 2))

    def _show(self, column: int, index: int) -> None:
        if 0 <= index < len(self.states):
            self.paint(self.views[column], self.states[index])
