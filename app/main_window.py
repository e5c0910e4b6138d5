"""The main window: image view in the middle, analysis and evidence on the left, view and ROIs on the right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from forensics_core import __version__
from forensics_core.atomic import write_png_atomic
from forensics_core.detectors import get_detector
from forensics_core.detectors.base import Result
from forensics_core.device import resolve_device
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence, load_evidence
from forensics_core.report import CaseInfo, annotated_image, check_report_path, display_rgb
from forensics_core.result_cache import index_results

from app.case_actions import CaseActions
from app.class_maps_panel import ClassMapsPanel
from app.fusion_panel import FusionPanel
from app.clone_pairs_panel import ClonePairsPanel
from app.map_series_panel import MapSeriesPanel
from app.colour_bar import ColourBar
from app.detector_panel import DetectorPanel
from app.dialogs import DISCARD, SAVE, ask_unsaved, open_path, places, save_path, show_error
from app.display_data import DisplayData
from app.evidence_panel import EvidencePanel
from app.histogram_panel import HistogramPanel
from app.image_view import ImageView
from app.layers import heatmap_lut, mask_lut, outline_lut
from app.overlay_panel import OverlayPanel
from app.recent_files import RecentFiles
from app.report_dialog import ReportDialog
from app.results_panel import ResultsPanel, describe_result
from app.verdict_panel import VerdictPanel
from app.roi_panel import RoiPanel
from app.session import ResultState
from app.side_by_side import SideBySideDialog
from app.user_guide import show_user_guide
from app.worker import RunController

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp *.heic *.heif *.gif *.dng *.nef *.cr2 *.arw);;All files (*)"


def _scrolling(widget: QWidget, horizontal: bool = False) -> QScrollArea:
    """``widget`` in a vertical scroll area, so that a short dock scrolls instead of squashing it
    (``horizontal``: also scroll sideways in a narrow dock rather than cut the content off)."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded if horizontal
                                      else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


def _dock(title: str, widget: QWidget, name: str) -> QDockWidget:
    dock = QDockWidget(title)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    return dock


class MainWindow(CaseActions, QMainWindow):
    """The workbench window. Holds the open evidence, its results and the examiner's choices."""

    def __init__(self, detector_id: str | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Tamper Workbench")
        self.setAcceptDrops(True)
        self.evidence: Evidence | None = None
        self.picture: np.ndarray | None = None
        self.states: list[ResultState] = []
        self.current = -1
        self.case = CaseInfo()
        self.recent = RecentFiles(settings or QSettings())
        self.controller = RunController(self)

        self.image_view = ImageView()
        self.colour_bar = ColourBar()
        image_tab = QWidget()
        image_layout = QVBoxLayout(image_tab)
        image_layout.setContentsMargins(0, 0, 0, 0)
        image_layout.setSpacing(0)
        image_layout.addWidget(self.image_view, 1)
        image_layout.addWidget(self.colour_bar)
        self.fusion_panel = FusionPanel()
        image_layout.addWidget(self.fusion_panel)
        self.class_maps = ClassMapsPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(image_tab, "Image")
        self.tabs.addTab(self.class_maps, "Per-class maps")
        self.map_series = MapSeriesPanel()
        self.tabs.addTab(self.map_series, "Map series")
        self.setCentralWidget(self.tabs)

        self.detector_panel = DetectorPanel(detector_id)
        self.results_panel = ResultsPanel()
        analysis = QWidget()
        analysis_layout = QVBoxLayout(analysis)
        analysis_layout.setContentsMargins(0, 0, 0, 0)
        analysis_layout.addWidget(_scrolling(self.detector_panel), 3)
        analysis_layout.addWidget(self.detector_panel.run_bar)  # outside the scroll area: always visible
        analysis_layout.addWidget(QLabel("<b>Results</b>"))
        analysis_layout.addWidget(self.results_panel, 1)
        self.verdict_panel = VerdictPanel()
        analysis_layout.addWidget(self.verdict_panel)
        self.evidence_panel = EvidencePanel()
        self.overlay_panel = OverlayPanel()
        self.histogram_panel = HistogramPanel()
        view_widget = QWidget()
        view_layout = QVBoxLayout(view_widget)
        view_layout.setContentsMargins(0, 0, 0, 0)
        view_layout.addWidget(self.overlay_panel)
        view_layout.addWidget(self.histogram_panel, 1)
        self.roi_panel = RoiPanel(self.image_view.view)
        self.clone_pairs = ClonePairsPanel(self.image_view)

        self.analysis_dock = _dock("Analysis", analysis, "analysis")
        self.evidence_dock = _dock("Evidence", _scrolling(self.evidence_panel, horizontal=True), "evidence")
        self.view_dock = _dock("View and threshold", view_widget, "view")
        self.roi_dock = _dock("Regions of interest", self.roi_panel, "rois")
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.analysis_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.evidence_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.view_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.roi_dock)
        self.clone_pairs_dock = _dock("Clone pairs", self.clone_pairs, "clone_pairs")
        self.tabifyDockWidget(self.roi_dock, self.clone_pairs_dock)
        self.roi_dock.raise_()
        self._docks_sized = False

        self.readout = QLabel("")
        self.identity = QLabel("No image open: File > Open, drag a file here, or pass one on the command line.")
        self.statusBar().addWidget(self.readout, 1)
        self.statusBar().addPermanentWidget(self.identity)
        self.unsaved = False
        self._build_menus()
        self._connect()
        self._show_colour_bar(None)
        self.install_case_panels()

    # ---- construction ---------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut: QKeySequence | str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open image…", self._open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        self._action(file_menu, "Open &case…", self._open_case_dialog, "Ctrl+Shift+O")
        self._action(file_menu, "&Save case…", self._save_case_dialog, QKeySequence.StandardKey.Save)
        file_menu.addSeparator()
        self._action(file_menu, "Export &report…", self._report_dialog, "Ctrl+E")
        self._action(file_menu, "Export &annotated image (PNG)…", self._annotated_dialog, "Ctrl+Shift+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self._action(view_menu, "&Fit to window", self.image_view.fit, "Ctrl+0")
        self._action(view_menu, "&1:1 (actual pixels)", self.image_view.one_to_one, "Ctrl+1")
        self._action(view_menu, "&Side by side…", self._side_by_side, "Ctrl+B")
        view_menu.addSeparator()
        for dock in (self.analysis_dock, self.evidence_dock, self.view_dock, self.roi_dock):
            view_menu.addAction(dock.toggleViewAction())
        analysis_menu = self.menuBar().addMenu("&Analysis")
        self.run_action = self._action(analysis_menu, "&Run detector", self.detector_panel.run_button.click, "Ctrl+R")
        self.cancel_action = self._action(analysis_menu, "&Cancel run", self.controller.cancel, "Esc")
        self.cancel_action.setEnabled(False)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&User guide", lambda: show_user_guide(self), QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "&About", lambda: show_about(self))

    def _connect(self) -> None:
        c = self.controller
        self.detector_panel.runRequested.connect(self.run_detector)
        self.detector_panel.cancelRequested.connect(c.cancel)
        c.started.connect(lambda _id: self._set_running(True))
        c.progress.connect(self.detector_panel.set_progress)
        c.elapsed.connect(self.detector_panel.set_elapsed)
        c.delivered.connect(self._on_result)
        c.refused.connect(self._run_refused)
        c.failed.connect(self._run_failed)
        c.cancelled.connect(lambda: self.detector_panel.set_progress(0.0, "Cancelled"))
        c.stopped.connect(lambda: self._set_running(False))
        self.results_panel.selected.connect(self.select_result)
        self.results_panel.removeRequested.connect(self.remove_result)
        self.results_panel.compareRequested.connect(self._side_by_side)
        self.clone_pairs.zoomed.connect(lambda: self.tabs.setCurrentIndex(0))
        self.overlay_panel.changed.connect(self.refresh_layer)
        self.overlay_panel.opacityChanged.connect(self._opacity_changed)
        self.histogram_panel.thresholdChanged.connect(self.set_threshold)
        self.histogram_panel.scopeChanged.connect(self.refresh_histogram)
        self.roi_panel.changed.connect(self._mark_unsaved)
        self.roi_panel.changed.connect(self._rois_changed)
        self.roi_panel.selectionChanged.connect(self._rois_changed)
        self.image_view.hovered.connect(self._show_pixel)

    # ---- opening --------------------------------------------------------------------------
    def open_image(self, path: str | Path) -> bool:
        """Load ``path`` as the evidence; an unreadable file shows an error box. Returns success."""
        if self.controller.is_running():
            show_error(self, "A detector is running", "Cancel the running detector before opening another image.")
            return False
        if not self.keep_or_discard_work():
            return False
        try:
            evidence = load_evidence(path)
        except (ForensicsError, OSError) as exc:
            show_error(self, "Cannot open the image", str(exc))
            return False
        self._set_evidence(evidence)
        self.recent.add(str(evidence.path))
        return True

    def _set_evidence(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.picture = display_rgb(evidence)
        self.states, self.current = [], -1
        self.image_view.set_picture(self.picture)
        self.evidence_panel.show_evidence(evidence)
        self.roi_panel.set_image((evidence.height, evidence.width), evidence.sha256)
        self.detector_panel.reset()
        self.histogram_panel.scope.setCurrentIndex(0)
        self.readout.setText("")
        self.case = CaseInfo()
        places.evidence_folder = evidence.path.parent
        self.setWindowTitle(f"{evidence.path.name} — Tamper Workbench")
        self.identity.setText(f"{evidence.path.name} · {evidence.width}x{evidence.height} · "
                              f"SHA-256 {evidence.sha256[:16]}…")
        self._results_changed()
        self.unsaved = False
        self.case_evidence_changed(evidence)

    def _open_dialog(self) -> None:
        path = open_path(self, "Open an image", IMAGE_FILTER)
        if path:
            self.open_image(path)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.recent.paths()
        for path in paths:
            self.recent_menu.addAction(path, lambda p=path: self.open_image(p))
        if not paths:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        """Accept files dragged from a file manager."""
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        """Open the first dropped local file."""
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_image(urls[0].toLocalFile())
            event.acceptProposedAction()

    # ---- running --------------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self.detector_panel.set_running(running)
        self.cancel_action.setEnabled(running)  # Esc cancels only while a run lasts

    def _run_refused(self, message: str) -> None:
        self.detector_panel.set_progress(0.0, "The detector could not analyse this image")
        show_error(self, "The detector cannot analyse this image", message)

    def _run_failed(self, message: str) -> None:
        self.detector_panel.set_progress(0.0, "The detector stopped with an unexpected error")
        show_error(self, "Unexpected error in the detector",
                   "The detector stopped with an error that is not a property of the image (a defect of "
                   "the software). Nothing was added to the results.\n\n" + message)

    def run_detector(self, detector_id: str, params: dict[str, Any], device: str = "auto") -> bool:
        """Start ``detector_id`` on the open image in the background; False when it cannot start."""
        if self.evidence is None:
            show_error(self, "No image", "Open an image before running a detector.")
            return False
        try:
            detector = get_detector(detector_id)
            self.detector_panel.set_device(f"{resolve_device(device)} ({device})")
        except ForensicsError as exc:
            show_error(self, "Cannot run the detector", str(exc))
            return False
        if not detector.is_trained():
            show_error(self, "The detector is not trained",
                       f"{detector.display_name} has no trained weights installed, so it cannot run "
                       "(it never runs with untrained weights). See Help > User guide.")
            return False
        if hasattr(detector, "reuse_results"):  # fusion: the open case's runs are not run again
            detector.reuse_results(index_results([state.result for state in self.states]))
        return self.controller.start(detector, self.evidence, params, device)

    def _on_result(self, result: Result, display: DisplayData | None = None) -> None:
        """Add a finished run's result; ``display`` is its display data, prepared on the worker thread."""
        if self.evidence is None or result.provenance.get("evidence_sha256") != self.evidence.sha256:
            return
        self.states.append(ResultState.of(result, display))
        self.detector_panel.set_device(result.device)
        if self.controller.is_running():
            self.detector_panel.set_elapsed(self.controller.seconds())
        self.detector_panel.set_progress(1.0, f"Done in {sum(result.timings.values()):.2f} s on {result.device}")
        self.current = len(self.states) - 1
        self._results_changed()
        self._mark_unsaved()

    def remove_result(self, index: int) -> None:
        """Forget result ``index``."""
        if 0 <= index < len(self.states):
            del self.states[index]
            self.current = min(self.current, len(self.states) - 1)
            self._results_changed()
            self._mark_unsaved()

    def _results_changed(self) -> None:
        self.results_panel.set_results([s.result for s in self.states], self.current)
        self.select_result(self.current)

    def select_result(self, index: int) -> None:
        """Show result ``index`` (-1: none) in the view, histogram, ROI table and class maps."""
        self.current = index if 0 <= index < len(self.states) else -1
        state = self.current_state()
        self.map_series.show_result(state.result if state else None)
        self.clone_pairs.show_result(state.result if state else None)
        self.verdict_panel.show_result(state.result if state else None, [s.result for s in self.states])
        self.class_maps.show_result(state.result if state else None, self.overlay_panel.colormap_name())
        self.fusion_panel.show_result(state.result if state else None, self.overlay_panel.colormap_name())
        self.refresh_layer()
        self.refresh_histogram()
        self._refresh_roi_statistics()

    def _refresh_roi_statistics(self) -> None:
        state = self.current_state()
        if state is None:
            self.roi_panel.set_heatmap(None, 0.5)
            return
        self.roi_panel.set_heatmap(state.result.heatmap, state.threshold,
                                   describe_result(self.current + 1, state.result))

    def current_state(self) -> ResultState | None:
        """The selected result's state, or None."""
        return self.states[self.current] if 0 <= self.current < len(self.states) else None

    def current_mask(self) -> np.ndarray | None:
        """The selected result's mask at the examiner's threshold."""
        state = self.current_state()
        return state.mask() if state else None

    # ---- display --------------------------------------------------------------------------
    def paint_layer(self, view: ImageView, state: ResultState | None) -> None:
        """Draw ``state`` into ``view`` in the selected mode, colour map and opacity."""
        mode = self.overlay_panel.mode()
        opacity = self.overlay_panel.opacity_value()
        if state is None or mode == "original":
            view.hide_layer()
        elif mode == "heatmap":
            lut = heatmap_lut(self.overlay_panel.colormap_name(), *self._colour_levels(state))
            view.show_layer(state.layer.levels, lut, opacity)
        elif mode == "mask":
            view.show_layer(state.layer.levels, mask_lut(state.threshold), opacity)
        else:
            view.show_layer(state.layer.outline(state.threshold), outline_lut(), 1.0)

    def refresh_layer(self) -> None:
        """Redraw the result layer of the main view."""
        state = self.current_state()
        self.paint_layer(self.image_view, state)
        if state is None or self.overlay_panel.mode() != "heatmap":
            self.overlay_panel.show_range(None, None)
            self._show_colour_bar(None)
        else:
            low, high = self._colour_levels(state)
            self.overlay_panel.show_range(low / 255.0, high / 255.0)
            self._show_colour_bar((low / 255.0, high / 255.0))
        colormap = self.overlay_panel.colormap_name()
        if state is not None and self.class_maps.maps and self.class_maps.colour_bar.name != colormap:
            self.class_maps.show_result(state.result, colormap)

    def _show_colour_bar(self, span: tuple[float, float] | None) -> None:
        """The colour bar under the image: shown with the heatmap view, over the values it spans."""
        self.colour_bar.setVisible(span is not None)
        if span is not None:
            self.colour_bar.show_scale(self.overlay_panel.colormap_name(), *span)

    def _colour_levels(self, state: ResultState) -> tuple[int, int]:
        """The 8-bit levels the colour map spans: the map's own range when stretched, else all."""
        return state.display.level_range if self.overlay_panel.stretched() else (0, 255)

    def _opacity_changed(self, opacity: float) -> None:
        if self.overlay_panel.mode() in ("heatmap", "mask"):
            self.image_view.set_layer_opacity(opacity)

    def refresh_histogram(self) -> None:
        """Histogram of the current heatmap, over the whole image or the selected ROI."""
        state = self.current_state()
        if state is None:
            self.histogram_panel.set_values(None, 0.5)
            return
        if not self.histogram_panel.roi_scope():
            self.histogram_panel.set_histogram(state.whole_histogram(), state.threshold)
            return
        region = self.roi_panel.selected_mask()
        if region is None:
            message = ("No ROI selected: select one in the table" if self.roi_panel.rois()
                       else "No ROI yet: draw one (Regions of interest)")
            self.histogram_panel.set_values(None, state.threshold, message)
            return
        values = state.result.heatmap[region]
        self.histogram_panel.set_values(values, state.threshold, "The selected ROI covers no pixel")

    def set_threshold(self, threshold: float) -> None:
        """Use ``threshold`` for the current result: mask, outline and ROI table follow."""
        state = self.current_state()
        if state is None:
            return
        if abs(state.threshold - float(threshold)) > 1e-12:
            self._mark_unsaved()
        state.threshold = float(threshold)
        if self.overlay_panel.mode() in ("mask", "outline"):
            self.refresh_layer()
        self._refresh_roi_statistics()
        if abs(self.histogram_panel.threshold() - state.threshold) > 1e-9:
            self.histogram_panel.set_threshold(state.threshold, emit=False)

    def _rois_changed(self) -> None:
        if self.histogram_panel.roi_scope():
            self.refresh_histogram()

    def _show_pixel(self, x: int, y: int) -> None:
        if self.evidence is None or x < 0:
            self.readout.setText("")
            return
        r, g, b = (int(v) for v in self.evidence.pixels[y, x])
        text = f"x {x}  y {y}   RGB ({r}, {g}, {b})"
        state = self.current_state()
        if state is not None:
            text += f"   heatmap {float(state.result.heatmap[y, x]):.3f}"
        self.readout.setText(text)

    def _side_by_side(self) -> None:
        if self.picture is None or len(self.states) < 2:
            show_error(self, "Side by side", "Run at least two detectors (or one detector twice) first.")
            return
        dialog = SideBySideDialog(self.picture, self.states, self.paint_layer, max(self.current, 0), self)
        dialog.show()

    # ---- exports and cases ----------------------------------------------------------------
    def _report_dialog(self) -> None:
        if self.evidence is None:
            show_error(self, "No image", "Open an image first.")
            return
        dialog = ReportDialog(self.case, self.states, self.current, self)
        if not dialog.exec():
            return
        if dialog.case() != self.case:
            self._mark_unsaved()
        self.case = dialog.case()
        fmt = dialog.chosen_format
        name = f"{self.evidence.path.stem}-report.{fmt}"
        path = save_path(self, "Export report", name, "PDF (*.pdf)" if fmt == "pdf" else "HTML (*.html)")
        if not path:
            return
        try:
            written = self.export_report(path, fmt, dialog.selected(), self.case)
        except (ForensicsError, OSError) as exc:
            show_error(self, "REPORT NOT WRITTEN", str(exc))
            return
        self.statusBar().showMessage(f"Report written to {written}", 8000)

    def export_annotated(self, path: str | Path) -> Path:
        """Write the original with the current mask outlined and the ROIs labelled, as PNG."""
        mask = self.current_mask()
        if mask is None:
            mask = np.zeros((self.evidence.height, self.evidence.width), bool)
        target = check_report_path(path, self.evidence)
        return write_png_atomic(target, annotated_image(self.evidence, mask, self.roi_panel.rois()))

    def _annotated_dialog(self) -> None:
        if self.evidence is None:
            return
        path = save_path(self, "Export annotated image", f"{self.evidence.path.stem}-annotated.png", "PNG (*.png)")
        if path:
            try:
                self.export_annotated(path)
            except (ForensicsError, OSError) as exc:
                show_error(self, "Cannot export the image", str(exc))

    def _save_case_dialog(self) -> bool:
        """Ask where and save the case; True when it was saved."""
        if self.evidence is None:
            return False
        path = save_path(self, "Save case", f"{self.evidence.path.stem}-case.json", "Case files (*.json)")
        if not path:
            return False
        try:
            self.save_case(path)
        except (ForensicsError, OSError) as exc:
            show_error(self, "Cannot save the case", str(exc))
            return False
        self.mark_saved(path)
        return True

    def _open_case_dialog(self) -> None:
        if not self.keep_or_discard_work():
            return
        path = open_path(self, "Open case", "Case files (*.json)")
        if path:
            self.open_case(path)

    # ---- unsaved work ---------------------------------------------------------------------
    def _mark_unsaved(self) -> None:
        if self.evidence is not None:
            self.unsaved = True

    def mark_saved(self, case_path: str | Path) -> None:
        """The open work is saved in the case at ``case_path``; later dialogs start in its folder."""
        self.unsaved = False
        places.case_folder = Path(case_path).parent

    def keep_or_discard_work(self) -> bool:
        """Before unsaved results, ROIs or notes would be lost: ask to save, discard or cancel.

        Returns True when it is fine to go on (nothing unsaved, saved now, or discarded).
        """
        if not self.unsaved or self.evidence is None:
            return True
        answer = ask_unsaved(self, self.evidence.path.name)
        if answer == SAVE:
            return self._save_case_dialog()
        return answer == DISCARD

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Share the width between the docks and the image once the window has its real size."""
        super().showEvent(event)
        if not self._docks_sized:
            self._docks_sized = True
            width, height = self.width(), self.height()
            left, right = int(min(max(0.25 * width, 330), 440)), int(min(max(0.28 * width, 380), 520))
            self.resizeDocks([self.analysis_dock, self.view_dock], [left, right], Qt.Orientation.Horizontal)
            self.resizeDocks([self.analysis_dock, self.evidence_dock], [int(0.6 * height), int(0.4 * height)],
                             Qt.Orientation.Vertical)
            self.resizeDocks([self.view_dock, self.roi_dock], [int(0.55 * height), int(0.45 * height)],
                             Qt.Orientation.Vertical)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Ask about unsaved work, then stop a running detector and close."""
        if not self.keep_or_discard_work():
            event.ignore()
            return
        self.controller.wait()
        super().closeEvent(event)


def show_about(parent: QWidget) -> None:
    """The About box: version and what the heatmaps are."""
    QMessageBox.about(parent, "About Tamper Workbench",
                      f"<b>Tamper Workbench {__version__}</b><p>Finds and outlines manipulated regions in one "
                      "photograph. Heatmaps are scores for an examiner to weigh, not proof.</p>")
