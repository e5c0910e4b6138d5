"""Is the whole picture in the file? Refuse pictures whose image data ends before the header says.

Decoders fill what a file does not hold: libjpeg paints missing blocks mid-grey, Pillow leaves
rows it never received black. A header that declares more rows than the data holds (a cut file,
or size fields altered by hand) would then load as a padded picture. These checks measure how
much of the declared picture the data really holds and refuse the file, saying how many rows are
missing; they also refuse, before any pixel is decoded, files far too small to hold the picture
they declare (decompression bombs: a few kilobytes declaring 14000 x 14000 pixels).

* PNG: the IDAT stream is inflated (streaming, nothing kept) and its length compared with what
  the IHDR's size, bit depth, colour type and interlacing require (PNG specification, sections
  7 and 8).
* JPEG: a Huffman-coded scan spends at least one bit on every 8x8 block (ITU-T T.81, F.1.2.1,
  the DC difference code), which bounds the file size from below; libjpeg-turbo (simplejpeg) then
  decodes the file at 1/8 scale in strict mode, so that "premature end of data segment" and
  other recoverable errors, which other decoders swallow, are seen.
* GIF: an LZW code takes at least three bits and stands for at most 4096 pixels, which bounds
  the picture a file can hold.
* TIFF: uncompressed, deflate and PackBits strips are decoded and their length compared with the
  declared size.
* Other formats decoded by Pillow: the image memory is pre-filled with a sentinel before
  decoding, and where the sentinel survives the file is decoded a second time over another
  sentinel; pixels that differ between the two were never written by the decoder.

Where a file holds more image data than its header declares (PNG, BMP, TIFF, JPEG's
"extraneous bytes", a lossy WebP whose last coded bytes are never read), where the padding of a
row holds data beyond its declared width (BMP, PNG of 1, 2 or 4 bits), where a HEIF's clean
aperture hides more of the coded picture than an encoder's padding, or a GIF frame or HEIF edge
padding does not match the declared size, the picture loads with a note saying so.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image

from forensics_core.errors import EvidenceError

# PNG colour type -> samples per pixel.
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 passes: (x start, y start, x step, y step).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
# JPEG start-of-frame markers of Huffman-coded processes (baseline, extended, progressive).
_HUFFMAN_DCT_SOF = (0xC0, 0xC1, 0xC2)
_ALL_SOF = (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
_INFLATE_STEP = 1 << 20
_SENTINELS = (0x5A, 0xA5)


def missing_rows_error(name: str, width: int, height: int, missing: int, how: str = "",
                       what: str = "missing from the file") -> EvidenceError:
    """The refusal of a picture whose data ends ``missing`` rows early."""
    missing = max(1, min(int(missing), height))
    return EvidenceError(
        f"{name}: {missing} of its {height} rows are {what}{how}. Its header "
        f"declares {width} x {height} pixels but the image data ends early: the file is "
        "truncated or corrupt, or its size fields were altered. Decoders would fill the missing "
        "rows with grey or black, so this tool does not analyse it; obtain a complete copy of the "
        "original file."
    )


def _too_small_error(name: str, width: int, height: int, size: int, needed: int) -> EvidenceError:
    return EvidenceError(
        f"{name} declares {width} x {height} pixels, which need at least {needed:,} bytes of "
        f"compressed data, but the file holds only {size:,} bytes. Most of the picture is not in "
        "the file: it is truncated, its size fields were altered, or it is a decompression bomb. "
        "This tool does not analyse it; obtain a complete copy of the original file."
    )


# ---- PNG ------------------------------------------------------------------------------------
def _png_row_bytes(width: int, bits_per_pixel: int) -> int:
    return (width * bits_per_pixel + 7) // 8


def _png_expected(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> int:
    """Bytes of filtered scanlines (one filter byte per row) the IDAT stream must inflate to."""
    if not interlaced:
        return height * (1 + _png_row_bytes(width, bits_per_pixel))
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        pass_width = (width - x0 + dx - 1) // dx if width > x0 else 0
        pass_height = (height - y0 + dy - 1) // dy if height > y0 else 0
        if pass_width and pass_height:
            total += pass_height * (1 + _png_row_bytes(pass_width, bits_per_pixel))
    return total


def _png_idat(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """The IHDR payload and the IDAT payloads, or None when the chunk layout is not readable."""
    position, ihdr, idat = 8, None, []
    while position + 8 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        payload = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            ihdr = payload
        elif kind == b"IDAT":
            idat.append(payload)
        elif kind == b"IEND":
            break
        position += 12 + length
    if ihdr is None or len(ihdr) < 13:
        return None
    return ihdr, idat


def _inflated_length(parts: list[bytes], limit: int) -> int:
    """How many bytes the zlib stream in ``parts`` inflates to (counting stops past ``limit``)."""
    inflater = zlib.decompressobj()
    produced = 0
    try:
        for part in parts:
            pending = part
            while pending and produced <= limit:
                produced += len(inflater.decompress(pending, _INFLATE_STEP))
                pending = inflater.unconsumed_tail
            if inflater.eof or produced > limit:
                break
        while not inflater.eof and produced <= limit:  # flush what the last call held back
            chunk = inflater.decompress(b"", _INFLATE_STEP)
            if not chunk:
                break
            produced += len(chunk)
    except zlib.error:
        pass  # a corrupt stream: the decoder reports it; only the length matters here
    return produced


def check_png(data: bytes, name: str) -> list[str]:
    """Refuse a PNG whose IDAT stream holds fewer scanlines than its IHDR declares.

    Returns notes (more data than the header needs); chunk-level damage is left to the decoder.
    """
    parsed = _png_idat(data)
    if parsed is None:
        return []
    ihdr, idat = parsed
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", ihdr[:13])
    if colour not in _PNG_SAMPLES or depth not in (1, 2, 4, 8, 16) or width == 0 or height == 0:
        return []
    bits_per_pixel = depth * _PNG_SAMPLES[colour]
    expected = _png_expected(width, height, bits_per_pixel, interlace == 1)
    produced = _inflated_length(idat, expected)
    if produced < expected:
        missing_bytes = expected - produced
        if interlace == 1:
            rows = -(-missing_bytes * height // expected)
            raise missing_rows_error(name, width, height, rows, " (interlaced: the equivalent of that many)")
        raise missing_rows_error(name, width, height, -(-missing_bytes // (1 + _png_row_bytes(width, bits_per_pixel))))
    if produced > expected:
        return [
            f"the PNG holds more image data than its header's {width} x {height} pixels need; "
            "the extra data was ignored (the size fields may have been altered)"
        ]
    if bits_per_pixel < 8 and (width * bits_per_pixel) % 8 and interlace == 0:
        return _png_padding_note(data, width, height, bits_per_pixel)
    return []


def _png_padding_note(data: bytes, width: int, height: int, bits_per_pixel: int) -> list[str]:
    """A note when the unused bits that end the rows of a 1, 2 or 4-bit PNG are not zero.

    A row of such a picture fills whole bytes, and the bits after its last pixel are left over
    (PNG specification, section 7.2); writers leave them zero, so data there means the declared
    width is smaller than the picture stored. The file is decoded again with the width of its
    whole row bytes (same scanlines, CRC recomputed) and the columns past the declared width read.
    """
    padded_width = _png_row_bytes(width, bits_per_pixel) * 8 // bits_per_pixel
    ihdr_end = 8 + 8 + 13
    header = bytearray(data[8 + 4 : ihdr_end])  # chunk type and payload, as the CRC covers them
    struct.pack_into(">I", header, 4, padded_width)
    widened = (data[:12] + bytes(header) + struct.pack(">I", zlib.crc32(bytes(header)))
               + data[ihdr_end + 4 :])
    try:
        with Image.open(io.BytesIO(widened), formats=["PNG"]) as img:
            img.load()
            padding = np.asarray(img)[:, width:]
    except Exception:  # noqa: BLE001 - the main decoder reports damage; only the padding matters here
        return []
    if not np.any(padding):
        return []
    return [
        f"the PNG's rows hold data after the {width} pixels its header declares (the bits that "
        "end each row, which writers leave zero, are not zero): the picture stored may be wider "
        "than declared (the size fields may have been altered)"
    ]


# ---- JPEG -----------------------------------------------------------------------------------
def _jpeg_frame(data: bytes) -> tuple[int, int, int, list[tuple[int, int]]] | None:
    """(SOF marker, width, height, [(h, v) sampling per component]) of the first frame."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _ALL_SOF:
            segment = data[position + 4 : position + 2 + length]
            if len(segment) < 6:
                return None
            height, width, count = struct.unpack(">HHB", segment[1:6])
            sampling = []
            for index in range(count):
                offset = 6 + 3 * index
                if offset + 2 > len(segment):
                    return None
                factors = segment[offset + 1]
                sampling.append((max(factors >> 4, 1), max(factors & 0x0F, 1)))
            return marker, width, height, sampling
        if marker in (0xDA, 0xD9):
            return None
        position += 2 + length
    return None


def _jpeg_min_bytes(width: int, height: int, sampling: list[tuple[int, int]]) -> int:
    """Fewest bytes a Huffman-coded scan of this frame can take: one bit per 8x8 block."""
    h_max = max(h for h, _ in sampling)
    v_max = max(v for _, v in sampling)
    blocks = 0
    for h, v in sampling:
        columns = -(-(-(-width * h // h_max)) // 8)
        rows = -(-(-(-height * v // v_max)) // 8)
        blocks += columns * rows
    return blocks // 8


def _grey_tail_rows(small: np.ndarray, scale: float) -> int:
    """Rows (at full scale) at the bottom of a 1/8-scale decode that are exactly mid-grey (128).

    libjpeg decodes the blocks it has no data for as all-zero coefficients, i.e. flat 128.
    """
    flat = small.reshape(small.shape[0], -1)
    grey = np.all(flat == 128, axis=1)
    trailing = int(np.argmin(grey[::-1])) if not grey.all() else grey.size
    return int(round(trailing * scale))


def check_jpeg(data: bytes, name: str) -> list[str]:
    """Refuse a JPEG too small for its declared size or whose scan data ends early.

    Returns notes for other recoverable decoder errors (damaged data, extra bytes).
    """
    frame = _jpeg_frame(data)
    if frame is None:
        return []
    marker, width, height, sampling = frame
    if width == 0 or height == 0 or not sampling:
        return []
    if marker in _HUFFMAN_DCT_SOF:
        needed = _jpeg_min_bytes(width, height, sampling)
        if len(data) < needed:
            raise _too_small_error(name, width, height, len(data), needed)
    try:
        import simplejpeg
    except ImportError:  # pragma: no cover - simplejpeg is a declared dependency
        return ["the strict JPEG check was skipped (simplejpeg is not installed)"]
    colourspace = {1: "GRAY", 3: "RGB", 4: "CMYK"}.get(len(sampling))
    if colourspace is None:
        return []
    try:
        simplejpeg.decode_jpeg(data, colorspace=colourspace, min_factor=8, strict=True)
        return []
    except ValueError as strict_exc:
        warning = str(strict_exc).strip()
    except Exception:  # noqa: BLE001 - libjpeg-turbo refusing the file is the main decoder's to report
        return []
    try:  # recoverable (a warning in strict mode) or fatal? Decode again leniently.
        small = simplejpeg.decode_jpeg(data, colorspace=colourspace, min_factor=8, strict=False)
    except Exception:  # noqa: BLE001 - fatal: the main decoder will report the damage
        return []
    if "premature end" in warning.lower():
        missing = _grey_tail_rows(np.asarray(small), height / max(small.shape[0], 1))
        if missing == 0:
            raise EvidenceError(
                f"{name} ends before its JPEG data is complete (the decoder said: '{warning}'), though "
                "no whole row is missing: the end of the file (at least its end marker) is cut off. "
                "It is truncated or corrupt; obtain a complete copy of the original file."
            )
        raise missing_rows_error(name, width, height, missing, " (about that many; the decoder said: "
                                 f"'{warning}')")
    return [f"the JPEG decoder reported damaged data ('{warning}'); the picture was decoded regardless"]


# ---- GIF ------------------------------------------------------------------------------------
_LZW_LONGEST_STRING = 4096  # a 12-bit code table holds strings of at most 4096 pixels


def check_gif(data: bytes, name: str, width: int, height: int) -> None:
    """Refuse a GIF too small for its declared size, before decoding.

    An LZW code takes at least three bits and stands for at most 4096 pixels (GIF89a
    specification, appendix F), so a file of ``n`` bytes holds at most ``n * 8 / 3 * 4096``
    pixels.
    """
    most = len(data) * 8 // 3 * _LZW_LONGEST_STRING
    if width * height > most:
        needed = width * height // _LZW_LONGEST_STRING * 3 // 8
        raise _too_small_error(name, width, height, len(data), needed)


def gif_canvas_note(data: bytes) -> list[str]:
    """A note when the GIF's first frame does not exactly cover its canvas (GIF89a, sections 18
    and 20: the logical screen and the image descriptor)."""
    if len(data) < 13:
        return []
    screen = struct.unpack("<HH", data[6:10])
    position = 13 + (3 << ((data[10] & 0x07) + 1) if data[10] & 0x80 else 0)
    while position < len(data) and data[position] == 0x21:  # extension blocks
        position += 2
        while position < len(data) and data[position]:
            position += data[position] + 1
        position += 1
    if position + 10 > len(data) or data[position] != 0x2C:
        return []
    left, top, width, height = struct.unpack("<HHHH", data[position + 1 : position + 9])
    if left == 0 and top == 0 and (width, height) == screen:
        return []
    return [
        f"the GIF's picture ({width} x {height} pixels at {left}, {top}) and its declared canvas "
        f"({screen[0]} x {screen[1]}) differ in size or place: parts of the loaded picture are "
        "background colour, not image data"
    ]


def replicated_edge_note(pixels: np.ndarray) -> list[str]:
    """A note when the bottom rows or right columns repeat the last distinct one exactly.

    HEIF decoders show the coded picture's edge padding when a container's declared size
    (``ispe``) is larger than the picture really coded.
    """
    notes = []
    for axis, what in ((0, "rows"), (1, "columns")):
        lines = np.moveaxis(pixels, axis, 0)
        same = np.all(lines[1:] == lines[-1], axis=tuple(range(1, lines.ndim)))
        repeats = int(np.argmin(same[::-1])) if not same.all() else len(same)
        if repeats >= 8:
            notes.append(
                f"the last {repeats} {what} repeat the one before them exactly: the declared size may "
                "be larger than the picture coded in the file (edge padding shown)"
            )
    return notes


# ---- every Pillow decoder ------------------------------------------------------------------
def _prefilled(img: Image.Image, which: int) -> bool:
    """Give ``img`` image memory filled with sentinel ``which`` (0 or 1) before it is loaded.

    Returns False when Pillow cannot fill the image's mode (then there is no sentinel check).
    """
    value = (0, 255)[which] if img.mode == "1" else _SENTINELS[which]
    try:
        bands = len(img.getbands())
        fill: int | float | tuple[int, ...] = value if bands == 1 else (value,) * bands
        if img.mode == "F":
            fill = float(value)
        img.im = Image.core.fill(img.mode, img.size, fill)
    except Exception:  # noqa: BLE001 - a mode Pillow cannot fill: no sentinel check
        return False
    return True


def load_with_sentinel(img: Image.Image) -> bool:
    """Load ``img`` over image memory pre-filled with a sentinel; True when it may hold gaps.

    The file may hold gaps when the sentinel survives in a whole row or in the last pixel.
    """
    if not _prefilled(img, 0):
        img.load()
        return False
    img.load()
    if img.mode == "1":  # two values only: a sentinel cannot stand out, always compare
        return True
    pixels = np.asarray(img)
    if pixels.size == 0:
        return False
    flat = pixels.reshape(pixels.shape[0], pixels.shape[1], -1)
    survived = np.all(flat == _SENTINELS[0], axis=2)
    return bool(survived[-1, -1] or np.any(np.all(survived, axis=1)))


def unwritten_rows(reopen: Callable[[], Image.Image], first: Image.Image) -> int:
    """Rows holding pixels that the decoder never wrote (compare with a second sentinel)."""
    second = reopen()
    with second:
        if not _prefilled(second, 1):
            return 0
        second.load()
        a, b = np.asarray(first), np.asarray(second)
    if a.shape != b.shape:
        return 0
    differs = a != b
    if differs.ndim == 3:
        differs = differs.any(axis=2)
    return int(differs.any(axis=1).sum())


# ---- more data than declared ------------------------------------------------------------------
def _extra_data_note(fmt: str, width: int, height: int, extra: int) -> str:
    return (
        f"the {fmt} file holds {extra:,} bytes of image data more than its header's {width} x {height} "
        "pixels need; the extra data was ignored (the size fields may have been altered, or data "
        "was appended)"
    )


def check_bmp(data: bytes, img: Image.Image) -> list[str]:
    """A note when an uncompressed BMP's pixel array is longer than its declared size needs."""
    if len(data) < 34 or img.info.get("compression", 0) not in (0, 3):
        return []
    (offset,) = struct.unpack("<I", data[10:14])
    (bits,) = struct.unpack("<H", data[28:30])
    width, height = img.size
    stride = ((width * bits + 31) // 32) * 4
    needed = offset + stride * height
    slack = 4  # some writers pad the pixel array to a multiple of four bytes
    if len(data) > needed + slack:
        return [_extra_data_note("BMP", width, height, len(data) - needed)]
    if img.info.get("compression", 0) == 0 and bits in (1, 2, 4, 8, 16, 24) and len(data) >= needed:
        return _bmp_padding_note(data[offset:needed], width, height, bits, stride)
    return []


def _bmp_padding_note(pixel_array: bytes, width: int, height: int, bits: int, stride: int) -> list[str]:
    """A note when the padding that ends each row of an uncompressed BMP is not zero.

    Every row is padded to a multiple of four bytes (Microsoft, "Bitmap Storage"); writers pad
    with zeros, so data there means the declared width is smaller than the picture stored.
    """
    used_bits = width * bits
    if used_bits == stride * 8:
        return []
    rows = np.frombuffer(pixel_array, dtype=np.uint8).reshape(height, stride)
    whole, part = divmod(used_bits, 8)
    dirty = np.any(rows[:, whole + (1 if part else 0) :])
    if part:  # pixels fill a byte from its most significant bit
        dirty = dirty or np.any(rows[:, whole] & (0xFF >> part))
    if not dirty:
        return []
    return [
        f"the BMP's rows hold data after the {width} pixels its header declares (the padding "
        "that ends each row, which writers leave zero, is not zero): the picture stored may be "
        "wider than declared (the size fields may have been altered)"
    ]


def _listed_strips(page: object) -> list[tuple[int, int]]:
    """(offset, byte count) of every strip the page's tags list.

    tifffile keeps only as many strips as the declared height needs; a file whose height was made
    smaller still lists the others, which hold the rows it no longer declares.
    """
    tags = page.tags  # type: ignore[attr-defined]
    offsets, counts = tags.get(273), tags.get(279)
    if offsets is None or counts is None:
        return list(zip(page.dataoffsets, page.databytecounts))  # type: ignore[attr-defined]
    return list(zip(np.atleast_1d(offsets.value).tolist(), np.atleast_1d(counts.value).tolist()))


_TIFF_COUNTED_CODINGS = (1, 8, 32773, 32946)  # none, deflate, PackBits, old deflate
_TIFF_COUNT_LIMIT = 64 << 20


def check_tiff(data: bytes, name: str) -> list[str]:
    """Refuse a TIFF whose first page's strips decode to fewer bytes than its declared size needs
    (decoders would read past them); a note when they hold more.

    Counted for uncompressed, deflate and PackBits strips of grey, RGB, palette and CFA pages (the
    codings tifffile decodes without optional packages).
    """
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            coding, photometric = int(page.compression), int(page.photometric)
            if coding not in _TIFF_COUNTED_CODINGS or page.is_tiled or photometric not in (0, 1, 2, 3, 32803):
                return []
            samples = int(page.samplesperpixel)
            planes = samples if int(page.planarconfig) == 2 else 1
            width, height = int(page.imagewidth), int(page.imagelength)
            needed = height * ((width * int(page.bitspersample) * samples // planes + 7) // 8) * planes
            spans = _listed_strips(page)
            if sum(count for _, count in spans) > _TIFF_COUNT_LIMIT:
                return []
            decode = tifffile.TIFF.DECOMPRESSORS[coding]
            held = sum(len(decode(data[offset : offset + count])) for offset, count in spans)
    except Exception:  # noqa: BLE001 - unreadable structure or data: the decoder reports the damage
        return []
    if held < needed:
        raise missing_rows_error(name, width, height, -(-(needed - held) * height // needed))
    return [_extra_data_note("TIFF", width, height, held - needed)] if held > needed else []


# ---- WebP -----------------------------------------------------------------------------------
#: Bytes at the end of a lossy WebP's coded data that a decoder may not need. libwebp ends its
#: boolean coder with at most a few bytes the decoder never reads (1 to 3 on photographs).
WEBP_SPARE_BYTES = 8


def _riff_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(kind, offset, payload length) of the chunks of a RIFF WebP file that fit in ``data``."""
    chunks, position = [], 12
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        (length,) = struct.unpack("<I", data[position + 4 : position + 8])
        if position + 8 + length > len(data):
            break
        chunks.append((kind, position, length))
        position += 8 + length + (length & 1)
    return chunks


def _without_last_bytes(data: bytes, cut: int) -> bytes | None:
    """The WebP with the last ``cut`` bytes of its VP8 (lossy) chunk removed, sizes rewritten."""
    for kind, offset, length in _riff_chunks(data):
        if kind != b"VP8 ":
            continue
        if length <= cut + 10:  # the frame header alone takes 10 bytes
            return None
        kept = length - cut
        chunk = data[offset : offset + 4] + struct.pack("<I", kept) + data[offset + 8 : offset + 8 + kept]
        chunk += b"\x00" * (kept & 1)
        after = data[offset + 8 + length + (length & 1) :]
        body = data[8:offset] + chunk + after
        return data[:4] + struct.pack("<I", len(body)) + body
    return None


def check_webp(data: bytes, img: Image.Image) -> list[str]:
    """A note when a lossy WebP decodes to the same picture without the end of its coded data.

    A VP8 key frame declares its width and height, from which the decoder takes the number of
    macroblocks it reads (RFC 6386, sections 9.1 and 19.1); the coded data of a complete frame
    is read to within its last few bytes. When the picture decodes identically after its last
    ``WEBP_SPARE_BYTES`` bytes are removed, the file holds coded data its declared size never
    reads: the size fields were altered, or data was appended. ``img`` is the loaded picture.
    """
    shorter = _without_last_bytes(data, WEBP_SPARE_BYTES)
    if shorter is None:
        return []
    try:
        with Image.open(io.BytesIO(shorter), formats=["WEBP"]) as again:
            again.load()
            same = again.size == img.size and again.mode == img.mode and np.array_equal(
                np.asarray(again), np.asarray(img))
    except Exception:  # noqa: BLE001 - the shortened file does not decode: all its data is read
        return []
    if not same:
        return []
    width, height = img.size
    return [
        f"the WebP holds coded image data that its header's {width} x {height} pixels never read "
        f"(it decodes to the same picture without the last {WEBP_SPARE_BYTES} bytes of its coded data, "
        "whereas a complete file needs all but its last few): the size fields may have been altered, "
        "or data was appended, and the picture shown may not be the one coded"
    ]


# ---- HEIF -----------------------------------------------------------------------------------
#: Largest coding block of HEVC (a CTU of 64 x 64): encoders pad a picture to it at most.
HEIF_CODING_BLOCK = 64


def _boxes(data: bytes, start: int, end: int) -> dict[bytes, list[tuple[int, int]]]:
    """{box type: [(payload start, payload end)]} of the ISO base media boxes in ``data[start:end]``."""
    boxes: dict[bytes, list[tuple[int, int]]] = {}
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if size == 1 and position + 16 <= end:
            (size,) = struct.unpack(">Q", data[position + 8 : position + 16])
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            break
        boxes.setdefault(kind, []).append((position + header, position + size))
        position += size
    return boxes


def _primary_properties(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of the properties associated with the primary item of a HEIF file
    (ISO/IEC 23008-12, 'pitm', 'iprp', 'ipco', 'ipma'); empty when the structure is unreadable."""
    (meta,) = _boxes(data, 0, len(data)).get(b"meta", [(0, 0)])[:1]
    inside = _boxes(data, meta[0] + 4, meta[1])  # 'meta' is a full box
    if b"pitm" not in inside or b"iprp" not in inside:
        return []
    pitm = inside[b"pitm"][0][0]
    primary = struct.unpack(">I" if data[pitm] else ">H", data[pitm + 4 : pitm + (8 if data[pitm] else 6)])[0]
    iprp = _boxes(data, *inside[b"iprp"][0])
    if b"ipco" not in iprp or b"ipma" not in iprp:
        return []
    ipco_start, ipco_end = iprp[b"ipco"][0]
    properties, position = [], ipco_start
    while position + 8 <= ipco_end:
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        if size < 8:
            break
        properties.append((kind, data[position + 8 : position + size]))
        position += size
    ipma, _end = iprp[b"ipma"][0]
    version, flags = data[ipma], int.from_bytes(data[ipma + 1 : ipma + 4], "big")
    (entries,) = struct.unpack(">I", data[ipma + 4 : ipma + 8])
    position = ipma + 8
    for _ in range(entries):
        id_size = 4 if version else 2
        item = int.from_bytes(data[position : position + id_size], "big")
        count = data[position + id_size]
        position += id_size + 1
        wide = flags & 1
        indices = []
        for _ in range(count):
            value = int.from_bytes(data[position : position + (2 if wide else 1)], "big")
            indices.append(value & (0x7FFF if wide else 0x7F))
            position += 2 if wide else 1
        if item == primary:
            return [properties[i - 1] for i in indices if 0 < i <= len(properties)]
    return []


def heif_clean_aperture_note(data: bytes) -> list[str]:
    """A note when the primary picture's clean aperture ('clap') hides more of the coded picture
    than an encoder's padding.

    Encoders code a picture in whole blocks and crop the padding away with a clean aperture
    anchored at the top-left corner, removing less than one block (ISO/IEC 14496-12, 12.1.4;
    ISO/IEC 23008-12). A clean aperture placed elsewhere, or cutting a block or more, hides
    part of the coded picture: the declared size may have been altered, or the picture cropped
    without re-coding it.
    """
    from fractions import Fraction

    try:
        properties = dict(_primary_properties(data))
    except (struct.error, IndexError, ValueError):  # unreadable structure: the decoder reports it
        return []
    if b"clap" not in properties or b"ispe" not in properties or len(properties[b"clap"]) < 32:
        return []
    coded_width, coded_height = struct.unpack(">II", properties[b"ispe"][4:12])
    fields = struct.unpack(">IIIIiIiI", properties[b"clap"][:32])
    if 0 in fields[1::2] or coded_width == 0 or coded_height == 0:
        return []
    width, height, horizontal, vertical = (Fraction(fields[i], fields[i + 1]) for i in range(0, 8, 2))
    left = horizontal + (coded_width - width) / 2
    top = vertical + (coded_height - height) / 2
    if left == 0 and top == 0 and coded_width - width < HEIF_CODING_BLOCK and coded_height - height < HEIF_CODING_BLOCK:
        return []
    return [
        f"the HEIF's clean aperture shows {float(width):g} x {float(height):g} pixels of its coded "
        f"{coded_width} x {coded_height} picture, from ({float(left):g}, {float(top):g}): more than an "
        "encoder's padding is hidden (the size fields may have been altered, or the picture was "
        "cropped without re-coding it)"
    ]
