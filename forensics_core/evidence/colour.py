"""Turn decoded pictures of any colour mode into HxWx3 uint8/uint16 RGB arrays, with notes.

Decisions:

* grey, palette and 1-bit pictures are replicated/expanded to RGB (noted);
* alpha channels are dropped (noted: transparency is not analysed);
* CMYK, YCbCr, LAB and HSV are converted to RGB with Pillow (noted; no ICC colour management);
* 16-bit data stays 16-bit (``uint16``);
* Pillow mode ``"I"`` (32-bit integer, e.g. some scientific TIFFs) is accepted only when every
  value fits 0..65535, and is then kept exactly as ``uint16`` (noted); otherwise refused;
* Pillow mode ``"F"`` and floating-point arrays (HDR/scientific data) are refused: there is no
  faithful way to map them to the integer pixels a photograph's traces live in.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from forensics_core.errors import EvidenceError

ALPHA_NOTE = "alpha channel dropped; it is not analysed"
_GREY_16_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[:, :, np.newaxis], 3, axis=2)


def _refuse_float(name: str, what: str) -> EvidenceError:
    return EvidenceError(
        f"{name} stores {what} floating-point pixels (HDR or scientific data), not an 8- or "
        "16-bit photograph; the detectors cannot analyse it faithfully. Export it as an 8- or "
        "16-bit image first (and say so in the report)."
    )


def pil_to_rgb(img: Image.Image, name: str) -> tuple[np.ndarray, int, list[str]]:
    """Return ``(pixels, bit_depth, notes)`` for a loaded Pillow image of any mode."""
    mode = img.mode
    notes: list[str] = []
    if mode == "RGB":
        return np.asarray(img), 8, notes
    if mode in _GREY_16_MODES:
        grey = np.asarray(img).astype(np.uint16, copy=False)
        notes.append("16-bit grey converted to RGB (channel replicated, values kept)")
        return _grey_to_rgb(grey), 16, notes
    if mode == "I":
        values = np.asarray(img)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise EvidenceError(
                f"{name} stores 32-bit integer pixels with values from {int(values.min())} to "
                f"{int(values.max())}, outside the 16-bit range a photograph uses. Export it as "
                "an 8- or 16-bit image first."
            )
        notes.append("32-bit integer grey image: all values fit 16 bits, kept exactly as 16-bit")
        notes.append("grey converted to RGB")
        return _grey_to_rgb(values.astype(np.uint16)), 16, notes
    if mode == "F":
        raise _refuse_float(name, "32-bit")
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or (
        mode == "P" and ("transparency" in img.info or getattr(img.palette, "mode", "") == "RGBA")
    ):
        notes.append(ALPHA_NOTE)
    if mode in ("L", "LA", "La"):
        notes.append("grey converted to RGB")
        grey = np.asarray(img.getchannel("L") if mode != "L" else img)
        return _grey_to_rgb(grey), 8, notes
    if mode == "1":
        notes.append("1-bit black-and-white converted to RGB")
        return _grey_to_rgb(np.asarray(img.convert("L"))), 8, notes
    if mode in ("P", "PA"):
        notes.append("palette (indexed-colour) image converted to RGB")
    elif mode == "CMYK":
        notes.append("CMYK converted to RGB (simple conversion, no ICC colour management)")
    elif mode in ("YCbCr", "LAB", "HSV"):
        notes.append(f"{mode} converted to RGB")
    elif mode in ("RGBA", "RGBa", "RGBX"):
        pass
    else:
        notes.append(f"{mode} converted to RGB")
    try:
        rgb = img.convert("RGBA" if mode in ("P", "PA") else "RGB").convert("RGB")
    except (ValueError, OSError) as exc:
        raise EvidenceError(
            f"{name} uses the colour mode {mode!r}, which cannot be converted to RGB ({exc}). "
            "Export it as an ordinary RGB image first."
        ) from exc
    return np.asarray(rgb), 8, notes


def array_to_rgb(
    array: np.ndarray, name: str, channels_order: str = "RGB"
) -> tuple[np.ndarray, int, list[str]]:
    """Normalise an HxW, HxWx1..4 integer array (from OpenCV or tifffile) to RGB.

    ``channels_order`` is ``"BGR"`` for OpenCV output. Alpha (4th channel, or 2nd of grey)
    is dropped with a note.
    """
    notes: list[str] = []
    if array.dtype.kind == "f":
        raise _refuse_float(name, f"{array.dtype.itemsize * 8}-bit")
    if array.dtype == np.uint8:
        depth = 8
    elif array.dtype == np.uint16:
        depth = 16
    else:
        raise EvidenceError(
            f"{name} stores pixels as {array.dtype} values, not 8- or 16-bit; export it as an "
            "8- or 16-bit image first."
        )
    if array.ndim == 2:
        notes.append("grey converted to RGB")
        return _grey_to_rgb(array), depth, notes
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise EvidenceError(f"{name} has an unsupported pixel layout {array.shape}.")
    count = array.shape[2]
    if count in (2, 4):
        notes.append(ALPHA_NOTE)
    if count in (1, 2):
        notes.append("grey converted to RGB")
        return _grey_to_rgb(array[:, :, 0]), depth, notes
    rgb = array[:, :, :3]
    if channels_order == "BGR":
        rgb = rgb[:, :, ::-1]
    return rgb, depth, notes
