"""HTML to PDF with Qt's own text engine (QTextDocument + QPdfWriter): no extra dependency."""

from __future__ import annotations

import base64
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from forensics_core.atomic import write_bytes_atomic

PDF_RESOLUTION = 150


class DataUriDocument(QTextDocument):
    """A QTextDocument that decodes ``data:image/...;base64,`` images itself."""

    def loadResource(self, kind: int, name: QUrl) -> object:  # noqa: N802 (Qt override)
        """Decode data-URI images; leave every other resource to Qt."""
        text = name.toString()
        if kind == QTextDocument.ResourceType.ImageResource.value and text.startswith("data:image/"):
            _, _, payload = text.partition(",")
            return QImage.fromData(base64.b64decode(payload))
        return super().loadResource(kind, name)


def html_to_pdf_bytes(html: str) -> bytes:
    """Render ``html`` on A4 pages and return the PDF file's bytes."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(PDF_RESOLUTION)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
    writer.setTitle("Tamper Workbench report")
    document = DataUriDocument()
    # Lay out in the writer's own device pixels, so that the text fills the page width.
    document.documentLayout().setPaintDevice(writer)
    document.setPageSize(QSizeF(writer.width(), writer.height()))
    document.setHtml(html)
    document.print_(writer)
    del writer  # finishes the PDF
    buffer.close()
    return bytes(QByteArray(buffer.data()).data())


def write_pdf(path: str | Path, html: str) -> Path:
    """Render ``html`` to a PDF file, written atomically."""
    return write_bytes_atomic(path, html_to_pdf_bytes(html))
