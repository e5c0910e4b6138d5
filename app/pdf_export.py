"""HTML to PDF with Qt's own text engine (QTextDocument + QPdfWriter): no extra dependency.

Every page carries the case header at the top and "Page n of N" at the bottom; the PDF's
document information holds Title, Author, Subject and Creator. Qt's writer has no Subject
field, so the information dictionary is completed by an incremental update (ISO 32000-1,
section 7.5.6): a new Info object, an xref section for it and a trailer pointing back to Qt's
own, appended after Qt's ``%%EOF``; nothing Qt wrote is changed.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import QFont, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen, QTextDocument

from forensics_core.atomic import write_bytes_atomic

PDF_RESOLUTION = 150
#: Height of the header band and of the footer band, in millimetres.
BAND_MM = 9.0


@dataclass(frozen=True)
class PdfInfo:
    """The PDF's document information and the header printed on every page."""

    title: str = "Tamper Workbench report"
    author: str = ""
    subject: str = ""
    header: str = ""
    creator: str = "Tamper Workbench"


class DataUriDocument(QTextDocument):
    """A QTextDocument that decodes ``data:image/...;base64,`` images itself."""

    def loadResource(self, kind: int, name: QUrl) -> object:  # noqa: N802 (Qt override)
        """Decode data-URI images; leave every other resource to Qt."""
        text = name.toString()
        if kind == QTextDocument.ResourceType.ImageResource.value and text.startswith("data:image/"):
            _, _, payload = text.partition(",")
            return QImage.fromData(base64.b64decode(payload))
        return super().loadResource(kind, name)


def _draw_bands(painter: QPainter, width: float, height: float, band: float, header: str, page: int,
                pages: int) -> None:
    """The header text and rule at the top, the page number and rule at the bottom."""
    painter.save()
    painter.setPen(QPen(Qt.GlobalColor.darkGray, 1))
    font = QFont("sans-serif")
    font.setPointSizeF(7.5)
    painter.setFont(font)
    flags = Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextSingleLine
    painter.drawText(QRectF(0, 0, width, band * 0.8), flags | Qt.AlignmentFlag.AlignLeft,
                     painter.fontMetrics().elidedText(header, Qt.TextElideMode.ElideMiddle, int(width)))
    painter.drawLine(QPointF(0, band * 0.85), QPointF(width, band * 0.85))
    painter.drawLine(QPointF(0, height - band * 0.85), QPointF(width, height - band * 0.85))
    painter.drawText(QRectF(0, height - band * 0.8, width, band * 0.8), flags | Qt.AlignmentFlag.AlignRight,
                     f"Page {page} of {pages}")
    painter.restore()


def html_to_pdf_bytes(html: str, info: PdfInfo | None = None) -> bytes:
    """Render ``html`` on A4 pages with the header and page numbers; return the PDF file's bytes."""
    info = info or PdfInfo()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(PDF_RESOLUTION)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 10, 15, 10), QPageLayout.Unit.Millimeter))
    writer.setTitle(info.title)
    writer.setAuthor(info.author)
    writer.setCreator(info.creator)
    width, height = float(writer.width()), float(writer.height())
    band = BAND_MM / 25.4 * PDF_RESOLUTION
    body_height = height - 2 * band
    document = DataUriDocument()
    # Lay out in the writer's own device pixels, so that the text fills the page width.
    document.documentLayout().setPaintDevice(writer)
    document.setPageSize(QSizeF(width, body_height))
    document.setHtml(html)
    pages = document.pageCount()
    painter = QPainter(writer)
    for page in range(pages):
        if page:
            writer.newPage()
        painter.save()
        painter.translate(0, band - page * body_height)
        document.drawContents(painter, QRectF(0, page * body_height, width, body_height))
        painter.restore()
        _draw_bands(painter, width, height, band, info.header, page + 1, pages)
    painter.end()
    del writer  # finishes the PDF
    buffer.close()
    return with_document_info(bytes(QByteArray(buffer.data()).data()), info)


def _pdf_text(text: str) -> bytes:
    """A PDF text string in UTF-16BE with its byte-order mark, as a hex string."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def with_document_info(pdf: bytes, info: PdfInfo) -> bytes:
    """``pdf`` with an incremental update whose Info dictionary holds Title, Author, Subject, Creator."""
    size = re.findall(rb"/Size\s+(\d+)", pdf)
    root = re.findall(rb"/Root\s+(\d+\s+\d+\s+R)", pdf)
    start = re.findall(rb"startxref\s+(\d+)", pdf)
    if not (size and root and start):
        return pdf  # not the classic layout Qt writes: keep Qt's own information dictionary
    number = int(size[-1])
    fields = {"Title": info.title, "Author": info.author, "Subject": info.subject, "Creator": info.creator,
              "Producer": "Qt (QPdfWriter) via Tamper Workbench"}
    body = b"".join(b"/" + key.encode() + b" " + _pdf_text(value) + b" " for key, value in fields.items())
    update = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offset = len(update)
    update += f"{number} 0 obj\n<< ".encode() + body + b">>\nendobj\n"
    xref = len(update)
    update += f"xref\n0 1\n0000000000 65535 f \n{number} 1\n{offset:010d} 00000 n \n".encode()
    ident = re.findall(rb"/ID\s*(\[[^\]]*\])", pdf)
    update += (b"trailer\n<< /Size " + str(number + 1).encode() + b" /Root " + root[-1] + b" /Info "
               + f"{number} 0 R".encode() + b" /Prev " + start[-1] + (b" /ID " + ident[-1] if ident else b"")
               + b" >>\nstartxref\n" + str(xref).encode() + b"\n%%EOF\n")
    return bytes(update)


def write_pdf(path: str | Path, html: str, info: PdfInfo | None = None) -> Path:
    """Render ``html`` to a PDF file, written atomically."""
    return write_bytes_atomic(path, html_to_pdf_bytes(html, info))
