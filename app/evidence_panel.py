"""The evidence panel: identity of the file (hashes, format, size), JPEG facts and searchable metadata."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.evidence.jpeg import editing_software_warnings, format_quant_tables, table_family
from forensics_core.evidence.jpeg_tables import compare_tables, load_jpeg

#: Shown in selectable, scrollable one-line fields so that paths never wrap mid-name.
LINE_FIELDS = ("File",)
#: Shown in a fixed-width font with a button that copies the exact value.
HASH_FIELDS = ("SHA-256", "MD5")


#: Characters per line of a displayed hash: a SHA-256 (64 hex digits) takes four lines, which
#: fit the narrowest Evidence panel (two lines of 32 were cut off at 1366x768).
HASH_LINE_CHARS = 16


class HashField(QWidget):
    """A hash in a fixed-width font, broken into lines of :data:`HASH_LINE_CHARS`, with a Copy button.

    The label is sized for its lines (never squeezed below them) so the whole hash is always
    readable and selectable.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                           | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.label.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        copy = QToolButton(text="Copy")
        copy.setToolTip("Copy the exact hash to the clipboard")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self._value))
        layout.addWidget(self.label, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(copy, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addStretch(1)
        self._value = ""

    def setText(self, value: str) -> None:  # noqa: N802 (same name as QLabel's)
        """Show ``value`` (:data:`HASH_LINE_CHARS` characters a line)."""
        self._value = value
        lines = [value[i:i + HASH_LINE_CHARS] for i in range(0, len(value), HASH_LINE_CHARS)] or ["—"]
        self.label.setText("\n".join(lines))
        metrics = self.label.fontMetrics()
        self.label.setFixedSize(metrics.horizontalAdvance("0" * HASH_LINE_CHARS) + 4,
                                metrics.lineSpacing() * len(lines) + 4)

    def shown_lines(self) -> list[str]:
        """The lines the label shows (joined, they are the exact value)."""
        return self.label.text().split("\n")

    def text(self) -> str:
        """The exact value, without line breaks."""
        return self._value


def _value_widget(name: str) -> QLabel | QLineEdit | HashField:
    """A hash field, a read-only line edit for the path, else a wrapping label."""
    if name in HASH_FIELDS:
        return HashField()
    if name in LINE_FIELDS:
        # Frameless but with the platform's own line height: a style sheet here shrank the box
        # and clipped underscores ("test_exif.jpg" read as "test exif.jpg").
        edit = QLineEdit(readOnly=True)
        edit.setFrame(False)
        palette = edit.palette()
        palette.setColor(QPalette.ColorRole.Base, palette.color(QPalette.ColorRole.Window))
        edit.setPalette(palette)
        edit.setMinimumHeight(edit.fontMetrics().height() + 8)
        return edit
    label = QLabel()
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


def jpeg_checks_html(evidence: Evidence) -> str:
    """The quantisation-table family and any editing-software warning, as rich text (warnings in red)."""
    lines = [f"Tables: {html.escape(table_family(evidence.jpeg))}"] if evidence.jpeg is not None else []
    lines += [f"<span style='color:#b00020'><b>{html.escape(w)}</b></span>"
              for w in editing_software_warnings(evidence.metadata)]
    return "<br>".join(lines)


class EvidencePanel(QWidget):
    """Shows one :class:`Evidence`: file name, SHA-256, MD5, format, dimensions, JPEG and EXIF."""

    FIELDS = ("File", "Size", "Format", "Dimensions", "Pixels", "SHA-256", "MD5", "Orientation",
              "JPEG quality", "JPEG coding", "Notes")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.values: dict[str, QLabel | QLineEdit | HashField] = {}
        for name in self.FIELDS:
            self.values[name] = _value_widget(name)
            form.addRow(name + ":", self.values[name])
        layout.addLayout(form)
        self.tables = QPlainTextEdit(readOnly=True)
        self.tables.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.tables.setMaximumHeight(140)
        self.tables_label = QLabel("JPEG quantisation tables:")
        layout.addWidget(self.tables_label)
        layout.addWidget(self.tables)
        self.checks = QLabel(wordWrap=True)  # table family and editing-software warnings
        self.checks.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.checks)
        self.compare_button = QPushButton("Compare tables with a reference JPEG…")
        self.compare_button.setToolTip("Open a trusted file (e.g. an original from the claimed camera at the same "
                                       "settings) and compare its quantisation tables with the evidence's")
        self.compare_button.clicked.connect(self._choose_reference)
        layout.addWidget(self.compare_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.comparison = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.comparison.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.comparison)
        self.search = QLineEdit(placeholderText="Search metadata (key or value)…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        layout.addWidget(QLabel("EXIF and other metadata:"))
        layout.addWidget(self.search)
        self.metadata = QTableWidget(0, 2)
        self.metadata.setHorizontalHeaderLabels(["Key", "Value"])
        self.metadata.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.metadata.horizontalHeader().setStretchLastSection(True)
        self.metadata.verticalHeader().setVisible(False)
        self.metadata.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.metadata, 1)
        self._evidence: Evidence | None = None
        self.show_evidence(None)

    def show_evidence(self, evidence: Evidence | None) -> None:
        """Fill the panel from ``evidence`` (or clear it); the metadata search starts empty."""
        self.search.clear()
        for label in self.values.values():
            label.setText("—")
        self.metadata.setRowCount(0)
        self.tables.clear()
        self.checks.clear()
        has_jpeg = evidence is not None and evidence.jpeg is not None
        self.tables.setVisible(has_jpeg)
        self.tables_label.setVisible(has_jpeg)
        self.compare_button.setVisible(has_jpeg)
        self.comparison.clear()
        self._evidence = evidence
        if evidence is None:
            return
        v = self.values
        v["File"].setText(str(evidence.path))
        v["File"].setToolTip(str(evidence.path))
        v["Size"].setText(f"{evidence.file_size:,} bytes")
        v["Format"].setText(evidence.format)
        v["Dimensions"].setText(f"{evidence.width} x {evidence.height} px ({evidence.megapixels:.2f} MP)")
        v["Pixels"].setText(f"{evidence.bit_depth}-bit RGB (stored as {evidence.original_mode})")
        v["SHA-256"].setText(evidence.sha256)
        v["MD5"].setText(evidence.md5)
        v["Orientation"].setText(str(evidence.orientation) if evidence.orientation else "not recorded")
        v["Notes"].setText("\n".join(evidence.notes) or "none")
        if evidence.jpeg is not None:
            jpeg = evidence.jpeg
            quality = f"{jpeg.quality:.0f}" if jpeg.quality is not None else "unknown (non-IJG tables)"
            standard = "standard IJG tables" if jpeg.standard_tables else "non-standard tables"
            v["JPEG quality"].setText(f"{quality} ({standard})")
            v["JPEG coding"].setText(f"{'progressive' if jpeg.progressive else 'baseline'}, "
                                     f"subsampling {jpeg.subsampling or 'unknown'}")
            self.tables.setPlainText(format_quant_tables(jpeg))
        else:
            v["JPEG quality"].setText("not a JPEG")
            v["JPEG coding"].setText("not a JPEG")
        self.checks.setText(jpeg_checks_html(evidence))
        self.metadata.setRowCount(len(evidence.metadata))
        for row, (key, value) in enumerate(evidence.metadata):
            self.metadata.setItem(row, 0, QTableWidgetItem(key))
            self.metadata.setItem(row, 1, QTableWidgetItem(value))
        for field in LINE_FIELDS:  # the end (the file's name) is what a narrow field should show
            v[field].setCursorPosition(len(v[field].text()))
        self._filter(self.search.text())

    def _choose_reference(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Reference JPEG", "",
                                              "JPEG files (*.jpg *.jpeg *.jpe);;All files (*)")
        if path:
            self.compare_with_reference(path)

    def compare_with_reference(self, path: str) -> None:
        """Show how the evidence's quantisation tables compare with those of the JPEG at ``path``."""
        if self._evidence is None or self._evidence.jpeg is None:
            return
        try:
            reference = load_jpeg(path)
        except ForensicsError as exc:
            self.comparison.setText(f"<span style='color:#b00020'>{html.escape(str(exc))}</span>")
            return
        sentence = compare_tables(self._evidence.jpeg.quant_tables, reference.jpeg.quant_tables).sentence()
        self.comparison.setText(f"Against {html.escape(reference.path.name)} (SHA-256 {reference.sha256}): "
                                f"{html.escape(sentence)}")

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for row in range(self.metadata.rowCount()):
            cells = (self.metadata.item(row, c) for c in (0, 1))
            match = not needle or any(cell is not None and needle in cell.text().lower() for cell in cells)
            self.metadata.setRowHidden(row, not match)
