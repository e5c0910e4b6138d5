"""Flatten an image's metadata (EXIF, GPS, XMP, PNG text, ICC) into printable rows.

Nothing here may make loading fail: every problem becomes a note for the person reading the
report. Values are made printable and cut to :data:`MAX_VALUE_CHARS` characters.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Rational
from typing import Any

from PIL import ExifTags, Image

MAX_VALUE_CHARS = 200
_MAX_XMP_BYTES = 4 << 20  # XMP packets larger than this are not parsed
_MAX_ROWS_PER_SOURCE = 2000

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_INTEROP_IFD = 0xA005
_ORIENTATION = 0x0112
# Structural TIFF tags (offsets, pointers) and blobs reported elsewhere.
_SKIPPED_TAGS = frozenset(
    {_EXIF_IFD, _GPS_IFD, _INTEROP_IFD, 273, 279, 324, 325, 513, 514, 700, 34675}
)

_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_META_NS = "adobe:ns:meta/"

ORIENTATION_DESCRIPTIONS = {
    1: "normal",
    2: "mirror horizontal",
    3: "rotate 180",
    4: "mirror vertical",
    5: "mirror horizontal and rotate 270 CW",
    6: "rotate 90 CW",
    7: "mirror horizontal and rotate 90 CW",
    8: "rotate 270 CW",
}


@dataclass
class MetadataResult:
    """Rows of (key, value), the EXIF orientation, and notes about unreadable parts."""

    rows: list[tuple[str, str]] = field(default_factory=list)
    orientation: int | None = None
    notes: list[str] = field(default_factory=list)


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "\u2026"


def _clean_text(text: str) -> str:
    text = text.rstrip("\x00").strip()
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _format_rational(numerator: int, denominator: int) -> str:
    if denominator == 0:
        return f"undefined ({numerator}/0)"
    if denominator == 1:
        return str(numerator)
    if numerator != 0 and denominator % numerator == 0:
        return (
            f"1/{denominator // numerator}" if numerator > 0 else f"-1/{denominator // -numerator}"
        )
    return f"{numerator / denominator:.6g}"


def format_value(value: Any) -> str:
    """Make a metadata value printable: text decoded, binary as hex, rationals as '1/125'."""
    if isinstance(value, bytes):
        stripped = value.rstrip(b"\x00")
        try:
            text = stripped.decode("ascii")
            if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
                return _truncate(_clean_text(text))
        except UnicodeDecodeError:
            pass
        hex_part = value[:80].hex()
        suffix = f"\u2026 ({len(value)} bytes)" if len(value) > 80 else ""
        return _truncate(f"0x{hex_part}{suffix}")
    if isinstance(value, str):
        return _truncate(_clean_text(value))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    num = getattr(value, "numerator", None)
    den = getattr(value, "denominator", None)
    if isinstance(value, (Rational, Fraction)) or (isinstance(num, int) and isinstance(den, int)):
        return _format_rational(int(num), int(den))  # type: ignore[arg-type]
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (tuple, list)):
        return _truncate(", ".join(format_value(v) for v in value[:64]))
    return _truncate(_clean_text(str(value)))


def orientation_note(value: int) -> str:
    """The note shown when an EXIF orientation other than 'normal' is found."""
    what = ORIENTATION_DESCRIPTIONS.get(value, "unknown")
    return f"EXIF orientation {value} ({what}) reported, pixels left as stored"


def _tag_name(tag: int, names: dict[int, str]) -> str:
    return names.get(tag) or f"Tag0x{tag:04X}"


def _ifd_rows(prefix: str, ifd: Any, names: dict[int, str]) -> list[tuple[str, str]]:
    rows = []
    for tag, value in list(ifd.items())[:_MAX_ROWS_PER_SOURCE]:
        if tag in _SKIPPED_TAGS:
            continue
        rows.append((f"{prefix}:{_tag_name(int(tag), names)}", format_value(value)))
    return rows


def _exif(img: Image.Image, result: MetadataResult) -> None:
    try:
        exif = img.getexif()
    except Exception as exc:  # noqa: BLE001 - odd metadata never stops loading
        result.notes.append(f"EXIF data could not be read ({type(exc).__name__}: {exc}); ignored")
        return
    _exif_rows(exif, result)


def _exif_rows(exif: Image.Exif, result: MetadataResult) -> None:
    if not exif:
        return
    try:
        result.rows.extend(_ifd_rows("EXIF", exif, ExifTags.TAGS))
    except Exception as exc:  # noqa: BLE001
        result.notes.append(f"EXIF main directory partly unreadable ({exc}); ignored")
    for pointer, prefix, names in (
        (_EXIF_IFD, "EXIF", ExifTags.TAGS),
        (_GPS_IFD, "GPS", ExifTags.GPSTAGS),
    ):
        try:
            sub = exif.get_ifd(pointer)
            result.rows.extend(_ifd_rows(prefix, sub, names))
        except Exception as exc:  # noqa: BLE001
            result.notes.append(f"EXIF {prefix} directory unreadable ({exc}); ignored")
    raw = exif.get(_ORIENTATION)
    if raw is not None:
        _set_orientation(raw, result)


def _set_orientation(raw: Any, result: MetadataResult) -> None:
    value = raw[0] if isinstance(raw, (tuple, list)) and raw else raw
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
        result.orientation = value
        if value != 1:
            result.notes.append(orientation_note(value))
    else:
        result.notes.append(f"invalid EXIF orientation value {format_value(raw)!s} ignored")


def _xmp_name(tag: str, prefixes: dict[str, str]) -> str:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        prefix = prefixes.get(uri)
        return f"{prefix}:{local}" if prefix else local
    return tag


def flatten_xmp(packet: bytes | str) -> list[tuple[str, str]]:
    """Parse an XMP packet into ``("XMP:prefix:Name", value)`` rows.

    Attributes of the RDF descriptions and the text of leaf elements become rows; list items
    (``rdf:li``) are reported under the property that holds them. Raises ``ValueError`` when
    the XML is malformed (the caller turns that into a note).
    """
    data = packet.encode("utf-8") if isinstance(packet, str) else bytes(packet)
    data = data.strip(b"\x00 \t\r\n")
    if len(data) > _MAX_XMP_BYTES:
        raise ValueError(f"XMP packet too large to parse ({len(data)} bytes)")
    if b"<!ENTITY" in data:
        raise ValueError("XMP declares XML entities, which are not expanded for safety")
    prefixes: dict[str, str] = {}
    parser = ET.XMLPullParser(events=("start-ns",))
    try:
        parser.feed(data)
        parser.close()
        for _event, (prefix, uri) in parser.read_events():
            prefixes.setdefault(uri, prefix or "ns")
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"malformed XMP: {exc}") from exc

    rows: list[tuple[str, str]] = []
    parents = {child: parent for parent in root.iter() for child in parent}

    def property_name(elem: ET.Element) -> str:
        node: ET.Element | None = elem
        while node is not None and (
            node.tag.startswith("{" + _RDF_NS) or node.tag.startswith("{" + _META_NS)
        ):
            node = parents.get(node)
        return _xmp_name(node.tag, prefixes) if node is not None else _xmp_name(elem.tag, prefixes)

    for elem in root.iter():
        if not isinstance(elem.tag, str):
            continue
        for attr, value in elem.attrib.items():
            if attr.startswith(("{" + _RDF_NS, "{" + _XML_NS, "{" + _META_NS)):
                continue
            rows.append((f"XMP:{_xmp_name(attr, prefixes)}", format_value(value)))
        if len(elem) == 0 and elem.text and elem.text.strip():
            rows.append((f"XMP:{property_name(elem)}", format_value(elem.text)))
        if len(rows) >= _MAX_ROWS_PER_SOURCE:
            break
    return rows


def _xmp_packets(img: Image.Image) -> list[bytes | str]:
    packets: list[bytes | str] = []
    info = img.info or {}
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = info.get(key)
        if isinstance(value, (bytes, str)) and value:
            packets.append(value)
    tags = getattr(img, "tag_v2", None)
    if tags is not None:
        try:
            value = tags.get(700)
        except Exception:  # noqa: BLE001
            value = None
        if isinstance(value, (bytes, str)) and value:
            packets.append(value)
    unique: list[bytes | str] = []
    for packet in packets:
        if packet not in unique:
            unique.append(packet)
    return unique


def _xmp(img: Image.Image, result: MetadataResult) -> None:
    for packet in _xmp_packets(img)[:1]:
        try:
            result.rows.extend(flatten_xmp(packet))
        except Exception as exc:  # noqa: BLE001
            result.notes.append(f"XMP metadata could not be parsed ({exc}); skipped")


def _png_text(img: Image.Image, result: MetadataResult) -> None:
    if img.format != "PNG":
        return
    try:
        text = dict(getattr(img, "text", None) or {})
    except Exception as exc:  # noqa: BLE001
        result.notes.append(f"PNG text chunks unreadable ({exc}); ignored")
        return
    for key, value in list(text.items())[:_MAX_ROWS_PER_SOURCE]:
        if key == "XML:com.adobe.xmp" or not isinstance(value, str):
            continue
        result.rows.append((f"PNG:{_clean_text(str(key))}", format_value(value)))


def _other(img: Image.Image, result: MetadataResult) -> None:
    info = img.info or {}
    comment = info.get("comment")
    if isinstance(comment, (bytes, str)) and comment:
        result.rows.append((f"{img.format or 'FILE'}:Comment", format_value(comment)))
    icc = info.get("icc_profile")
    if isinstance(icc, (bytes, bytearray)) and icc:
        result.rows.append(("ICC:Profile", f"present, {len(icc)} bytes"))


def extract_metadata(img: Image.Image) -> MetadataResult:
    """Collect EXIF (IFD0, Exif and GPS directories), XMP, PNG text, comments and ICC presence.

    Never raises: any part that cannot be read is skipped with a note.
    """
    result = MetadataResult()
    for step in (_exif, _xmp, _png_text, _other):
        try:
            step(img, result)
        except Exception as exc:  # noqa: BLE001 - odd metadata never stops loading
            result.notes.append(
                f"some metadata could not be read ({type(exc).__name__}: {exc}); ignored"
            )
    return result


def extract_tiff_structured_metadata(data: bytes) -> MetadataResult:
    """EXIF rows of a TIFF-structured file (e.g. a camera RAW) read straight from its IFDs.

    No picture is opened, so this works for files Pillow cannot decode. Never raises.
    """
    result = MetadataResult()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # damaged tags are skipped quietly
            exif = Image.Exif()
            exif.load(bytes(data))
            _exif_rows(exif, result)
    except Exception as exc:  # noqa: BLE001 - metadata is optional
        result.notes.append(
            f"RAW metadata (EXIF) could not be read ({type(exc).__name__}); ignored"
        )
    return result
