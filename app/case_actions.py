"""The window's case work: several evidence files, bookmarks, the audit trail, saving and reports.

:class:`CaseActions` is mixed into the main window. It keeps a :class:`forensics_core.case.Case`
in step with what the window shows: the open evidence file's runs (with the examiner's
thresholds), ROIs and bookmarks live in that file's case entry, switching to another file of the
case stores them and restores the other's, and every action that changes the case (evidence
opened or added, run with its parameters, ROI edits, bookmarked views with their thresholds,
exports) is appended to the case's hash-chained audit trail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QInputDialog, QMenu, QMessageBox

from forensics_core.case import (
    Bookmark,
    Case,
    EvidenceEntry,
    Run,
    ViewSettings,
    check_evidence_file,
    copy_evidence_into_case,
    load_case,
)
from forensics_core.case.store import evidence_location
from forensics_core.detectors.base import Result
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence, load_evidence
from forensics_core.report import (
    BookmarkItem,
    CaseInfo,
    ReportItem,
    build_report_html,
    check_report_path,
    pdf_header,
    pdf_subject,
    pdf_title,
    write_report_file,
)
from forensics_core.roi import geometry_to_dict

from app.bookmarks_panel import BookmarksPanel
from app.case_io import case_folder_for, save_case_with_progress
from app.case_panel import CasePanel
from app.dialogs import open_path, show_error
from app.pdf_export import PdfInfo, html_to_pdf_bytes
from app.session import ResultState

CASE_IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp *.heic *.heif *.gif *.dng *.nef *.cr2 *.arw);;All files (*)"


class CaseActions:
    """Case behaviour of the main window (expects its evidence, states, panels and controller)."""

    # ---- set-up -----------------------------------------------------------------------------
    def install_case_panels(self) -> None:
        """Create the Case and Bookmarks docks and the Case menu, and start an empty case."""
        self.case_session = Case()
        self.case_folder_path: Path | None = None
        self._case_switching = False
        self._case_restoring = False
        self.case_panel = CasePanel()
        self.bookmarks_panel = BookmarksPanel()
        self.case_dock = self._case_dock("Case", self.case_panel, "case")
        self.bookmarks_dock = self._case_dock("Bookmarks", self.bookmarks_panel, "bookmarks")
        self.tabifyDockWidget(self.evidence_dock, self.case_dock)
        self.tabifyDockWidget(self.roi_dock, self.bookmarks_dock)
        self.evidence_dock.raise_()
        self.roi_dock.raise_()
        help_action = next((a for a in self.menuBar().actions() if a.text().replace("&", "") == "Help"), None)
        menu = QMenu("&Case", self)
        if help_action is not None:
            self.menuBar().insertMenu(help_action, menu)  # before Help, which stays last
        else:
            self.menuBar().addMenu(menu)
        for text, slot, shortcut in (("&Add evidence to the case…", self.add_evidence_dialog, "Ctrl+Shift+A"),
                                     ("&Bookmark the current view…", self.add_bookmark, "Ctrl+D"),
                                     ("&Verify evidence hashes", self.verify_evidence_hashes, None),
                                     ("&Copy the open evidence file into the case folder",
                                      self.copy_open_evidence, None)):
            action = QAction(text, self)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(lambda _checked=False, s=slot: s())
            menu.addAction(action)
        self.keep_class_maps = QAction("&Keep per-class maps in saved cases", self)
        self.keep_class_maps.setCheckable(True)
        self.keep_class_maps.setChecked(True)
        self.keep_class_maps.setToolTip("Off: a saved case holds each run's heatmap and mask only (smaller files)")
        menu.addAction(self.keep_class_maps)
        menu.addSeparator()
        menu.addAction(self.case_dock.toggleViewAction())
        menu.addAction(self.bookmarks_dock.toggleViewAction())
        self.case_panel.evidenceChosen.connect(self.switch_evidence)
        self.case_panel.addRequested.connect(self.add_evidence_dialog)
        self.case_panel.verifyRequested.connect(self.verify_evidence_hashes)
        self.bookmarks_panel.addRequested.connect(self.add_bookmark)
        self.bookmarks_panel.goRequested.connect(self.go_to_bookmark)
        self.bookmarks_panel.changed.connect(self._bookmarks_edited)
        self.controller.delivered.connect(self._log_run)
        self.roi_panel.changed.connect(self._log_rois)
        self._refresh_case_panels()

    def _case_dock(self, title: str, widget, name: str) -> QDockWidget:
        dock = QDockWidget(title)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        return dock

    # ---- defaults the window may override ------------------------------------------------------
    def _mark_unsaved(self) -> None:
        """The case changed since it was saved (the window may track this for its prompts)."""

    def mark_saved(self, case_path: str | Path) -> None:
        """The case was saved or opened at ``case_path`` (the window may track this)."""

    # ---- the case and its current entry ---------------------------------------------------------
    def case_entry(self) -> EvidenceEntry | None:
        """The case entry of the open evidence file."""
        case = self.case_session
        return case.evidence[case.current_evidence] if 0 <= case.current_evidence < len(case.evidence) else None

    def log_action(self, action: str, details: dict[str, Any] | None = None) -> None:
        """Append ``action`` to the case's audit trail (written with the next save)."""
        self.case_session.audit.append(action, details or {})

    def case_evidence_changed(self, evidence: Evidence) -> None:
        """Called when the window shows a new evidence file; File > Open starts a new case around it."""
        if self._case_switching:
            return
        self.case_session = Case()
        self.case_folder_path = None
        self.case_session.evidence.append(EvidenceEntry(evidence.path.resolve(), evidence.sha256))
        self.case_session.current_evidence = 0
        self.log_action("evidence opened", {"path": str(evidence.path.resolve()), "sha256": evidence.sha256})
        self._refresh_case_panels()

    def capture_case_state(self) -> None:
        """Copy what the window holds for the open file (runs, thresholds, ROIs, view) into the case."""
        entry = self.case_entry()
        if entry is None:
            return
        previous = {run.id: run for run in entry.runs}
        runs = []
        for state in self.states:
            old = previous.get(state.run_id)
            stored = old.stored if old is not None and old.result is state.result else None
            runs.append(Run(state.result, float(state.threshold), state.run_id, stored))
        entry.runs = runs
        entry.rois = self.roi_panel.rois()
        self.case_session.info = self.case
        self.case_session.current_run = self.current
        self.case_session.view = ViewSettings(self.overlay_panel.mode(), self.overlay_panel.opacity_value(),
                                              self.overlay_panel.colormap_name(), self.overlay_panel.stretched())

    def _show_entry(self, entry: EvidenceEntry, evidence: Evidence, current_run: int) -> None:
        """Show ``evidence`` with the runs, ROIs and bookmarks its case entry holds."""
        info = self.case_session.info
        self._case_switching = True
        try:
            self._set_evidence(evidence)
        finally:
            self._case_switching = False
        self._case_restoring = True
        try:
            for roi in entry.rois:
                self.roi_panel.add_roi(roi)
            self.states = [ResultState(run.result, run.threshold, run_id=run.id) for run in entry.runs]
            self.current = min(max(current_run, -1), len(self.states) - 1)
            if self.current < 0 and self.states:
                self.current = len(self.states) - 1
            self._results_changed()
        finally:
            self._case_restoring = False
        self.case = info
        self._refresh_case_panels()

    def _load_entry_evidence(self, entry: EvidenceEntry, folder: Path | None = None) -> Evidence:
        """Load an entry's evidence file, refusing it when its SHA-256 differs from the case's record."""
        folder = folder or self.case_folder_path or Path.cwd()
        evidence = load_evidence(evidence_location(folder, entry) if entry.copied else entry.path)
        if evidence.sha256 != entry.sha256:
            raise ForensicsError(f"{entry.path} has changed since it was added to the case: its SHA-256 is "
                                 f"{evidence.sha256}, the case recorded {entry.sha256}.")
        return evidence

    def switch_evidence(self, index: int) -> bool:
        """Open evidence file ``index`` of the case (the open one's work stays in the case)."""
        case = self.case_session
        if not 0 <= index < len(case.evidence) or index == case.current_evidence:
            return False
        if self.controller.is_running():
            show_error(self, "A detector is running", "Cancel the running detector before switching evidence.")
            return False
        self.capture_case_state()
        entry = case.evidence[index]
        try:
            evidence = self._load_entry_evidence(entry)
        except (ForensicsError, OSError) as exc:
            show_error(self, "Cannot open this evidence file", str(exc))
            return False
        case.current_evidence = index
        self._show_entry(entry, evidence, len(entry.runs) - 1)
        return True

    def add_evidence(self, path: str | Path) -> bool:
        """Add an image to the case (by path and SHA-256) and open it; an image already in the case is opened."""
        if self.evidence is None:
            return self.open_image(path)
        try:
            evidence = load_evidence(path)
        except (ForensicsError, OSError) as exc:
            show_error(self, "Cannot open the image", str(exc))
            return False
        case = self.case_session
        known = case.entry_for(evidence.sha256)
        if known is not None:
            return self.switch_evidence(case.evidence.index(known))
        self.capture_case_state()
        entry = EvidenceEntry(evidence.path.resolve(), evidence.sha256)
        case.evidence.append(entry)
        case.current_evidence = len(case.evidence) - 1
        self.log_action("evidence added", {"path": str(entry.path), "sha256": entry.sha256})
        self._show_entry(entry, evidence, -1)
        self._mark_unsaved()
        return True

    def add_evidence_dialog(self) -> None:
        """Ask for an image and add it to the case."""
        path = open_path(self, "Add evidence to the case", CASE_IMAGE_FILTER)
        if path:
            self.add_evidence(path)

    def copy_open_evidence(self) -> bool:
        """Copy the open evidence file into the case folder (read-only, verified); only when asked."""
        entry = self.case_entry()
        if entry is None or self.case_folder_path is None:
            show_error(self, "No case folder", "Save the case first; the copy goes into its evidence/ folder.")
            return False
        if entry.copied:
            return True
        original = entry.path
        try:
            copy_evidence_into_case(self.case_folder_path, entry)
        except (ForensicsError, OSError) as exc:
            show_error(self, "The evidence was not copied", str(exc))
            return False
        self.log_action("evidence copied into the case", {"from": str(original), "file": entry.path.as_posix(),
                                                          "sha256": entry.sha256})
        self._mark_unsaved()
        self._refresh_case_panels()
        return True

    def verify_evidence_hashes(self) -> list[str]:
        """Re-hash every evidence file of the case; show and return one line per file."""
        folder = self.case_folder_path or Path.cwd()
        lines = []
        for entry in self.case_session.evidence:
            try:
                location = evidence_location(folder, entry)
            except ForensicsError as exc:
                lines.append(str(exc))
                continue
            lines.append(check_evidence_file(location, entry.sha256).message())
        self.log_action("evidence hashes verified", {"results": lines})
        if self.isVisible():
            QMessageBox.information(self, "Evidence hashes", "\n\n".join(lines) or "No evidence in the case.")
        return lines

    def _refresh_case_panels(self) -> None:
        self.case_panel.show_case(self.case_session, str(self.case_folder_path or ""))
        entry = self.case_entry()
        self.bookmarks_panel.show_bookmarks(entry.bookmarks if entry is not None else [])

    # ---- audit hooks ---------------------------------------------------------------------------
    def _log_run(self, result: Result, _display: object = None) -> None:
        prov = result.provenance
        self.log_action("detector run", {
            "detector": result.detector_id, "parameters": prov.get("parameters", {}), "device": result.device,
            "score": float(result.score), "threshold": float(result.threshold),
            "evidence_sha256": prov.get("evidence_sha256", ""), "weights_sha256": prov.get("weights_sha256", {})})
        self._refresh_case_panels()

    def _log_rois(self) -> None:
        if self._case_restoring or self._case_switching or self.evidence is None:
            return
        self.log_action("ROIs changed", {"rois": [{"name": roi.name, **geometry_to_dict(roi.geometry)}
                                                  for roi in self.roi_panel.rois()]})

    def _bookmarks_edited(self) -> None:
        entry = self.case_entry()
        self.log_action("bookmarks reordered or removed",
                        {"captions": [b.caption for b in entry.bookmarks] if entry else []})
        self._mark_unsaved()
        self._refresh_case_panels()

    # ---- bookmarks -----------------------------------------------------------------------------
    def add_bookmark(self, caption: str | None = None) -> Bookmark | None:
        """Save the current view (result, mode, threshold, zoom, visible ROIs) with a caption."""
        entry = self.case_entry()
        if entry is None or self.evidence is None:
            show_error(self, "No image", "Open an image before bookmarking a view.")
            return None
        if caption is None:
            caption, ok = QInputDialog.getText(self, "Bookmark the current view", "Caption:")
            if not ok:
                return None
        state = self.current_state()
        rect = self.image_view.view.viewRect().intersected(QRectF(0, 0, self.evidence.width, self.evidence.height))
        whole = rect.width() >= self.evidence.width - 1 and rect.height() >= self.evidence.height - 1
        zoom = None if whole or rect.isEmpty() else (rect.left(), rect.top(), rect.right(), rect.bottom())
        visible = tuple(e.name for e in self.roi_panel.entries if e.item.isVisible())
        bookmark = Bookmark(caption=caption.strip() or f"View {len(entry.bookmarks) + 1}",
                            run_id=state.run_id if state else None, mode=self.overlay_panel.mode(),
                            threshold=float(state.threshold) if state else 0.5,
                            opacity=self.overlay_panel.opacity_value(), colormap=self.overlay_panel.colormap_name(),
                            zoom=zoom, visible_rois=visible)
        entry.bookmarks.append(bookmark)
        self.log_action("view bookmarked", {"caption": bookmark.caption, "run_id": bookmark.run_id,
                                            "detector": state.result.detector_id if state else None,
                                            "threshold": bookmark.threshold, "mode": bookmark.mode,
                                            "zoom": list(zoom) if zoom else None, "visible_rois": list(visible)})
        self._mark_unsaved()
        self._refresh_case_panels()
        return bookmark

    def go_to_bookmark(self, index: int) -> None:
        """Show bookmark ``index`` of the open file: its result, mode, threshold, colours and zoom."""
        entry = self.case_entry()
        if entry is None or not 0 <= index < len(entry.bookmarks):
            return
        bookmark = entry.bookmarks[index]
        run_index = next((i for i, s in enumerate(self.states) if s.run_id == bookmark.run_id), -1)
        if run_index >= 0:
            self.select_result(run_index)
            self.results_panel.set_results([s.result for s in self.states], run_index)
            self.set_threshold(bookmark.threshold)
        self.overlay_panel.set_mode(bookmark.mode)
        self.overlay_panel.opacity.setValue(round(100 * bookmark.opacity))
        self.overlay_panel.colormap.setCurrentText(bookmark.colormap)
        if bookmark.zoom is not None:
            x0, y0, x1, y1 = bookmark.zoom
            self.image_view.view.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        else:
            self.image_view.fit()

    # ---- saving and opening ----------------------------------------------------------------------
    def save_case(self, path: str | Path) -> Path:
        """Save the case into its folder (``path``: the folder, its case.json, or NAME.json for NAME/)."""
        folder = case_folder_for(path)
        self.capture_case_state()
        written = save_case_with_progress(self, folder, self.case_session, self.keep_class_maps.isChecked())
        self.case_folder_path = folder
        self._refresh_case_panels()
        return written

    def open_case(self, path: str | Path) -> bool:
        """Open a case folder completely (every hash verified) or not at all, with a message saying why."""
        if self.controller.is_running():
            show_error(self, "A detector is running", "Cancel the running detector before opening a case.")
            return False
        folder = case_folder_for(path)
        try:
            case = load_case(folder)
            if not case.evidence:
                raise ForensicsError(f"The case {folder} holds no evidence file.")
            index = case.current_evidence if case.current_evidence >= 0 else 0
            entry = case.evidence[index]
            evidence = self._load_entry_evidence(entry, folder)
        except (ForensicsError, OSError) as exc:
            show_error(self, "Cannot open the case", str(exc))
            return False  # nothing of the window changed
        self.case_folder_path = folder
        self.case_session = case
        case.current_evidence = index
        self.overlay_panel.set_mode(case.view.mode)
        self.overlay_panel.opacity.setValue(round(100 * case.view.opacity))
        self.overlay_panel.colormap.setCurrentText(case.view.colormap)
        self._show_entry(entry, evidence, case.current_run)
        self.case = case.info
        self.mark_saved(folder / "case.json")
        return True

    # ---- reports ----------------------------------------------------------------------------------
    def report_html(self, indices: list[int], case: CaseInfo) -> str:
        """The report HTML for results ``indices``, the open file's bookmarks and the audit trail."""
        items = [ReportItem(self.states[i].result, self.states[i].threshold) for i in indices]
        entry = self.case_entry()
        results = {state.run_id: state.result for state in self.states}
        bookmarks = [BookmarkItem(b, results.get(b.run_id)) for b in (entry.bookmarks if entry else [])]
        return build_report_html(self.evidence, items, self.roi_panel.rois(), case,
                                 self.overlay_panel.opacity_value(), self.overlay_panel.colormap_name(),
                                 self.overlay_panel.stretched(), bookmarks=bookmarks,
                                 audit=self.case_session.audit.entries)

    def export_report(self, path: str | Path, fmt: str, indices: list[int], case: CaseInfo) -> Path:
        """Write the report as ``html`` or ``pdf`` with ``<name>.sha256`` beside it; log its hash."""
        target = check_report_path(path, self.evidence)
        self.case_session.info = case
        html = self.report_html(indices, case)
        if fmt == "pdf":
            info = PdfInfo(title=pdf_title(self.evidence), author=case.examiner, subject=pdf_subject(self.evidence),
                           header=pdf_header(case, self.evidence))
            data = html_to_pdf_bytes(html, info)
        else:
            data = html.encode("utf-8")
        written = write_report_file(target, data, self.evidence)
        details: dict[str, Any] = {"path": str(written.path.resolve()), "sha256": written.sha256, "format": fmt,
                                   "evidence_sha256": self.evidence.sha256,
                                   "results": [self.states[i].run_id for i in indices]}
        folder = self.case_folder_path.resolve() if self.case_folder_path else None
        if folder is not None and written.path.resolve().is_relative_to(folder):
            details["file"] = written.path.resolve().relative_to(folder).as_posix()
        self.log_action("report exported", details)
        self._mark_unsaved()
        return written.path
