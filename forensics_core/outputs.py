"""Writing a result to disk: heatmap.npy, mask.png, overlay.png and result.json.

Derived files never go next to (or over) the evidence: the output folder must not contain the
evidence file, and every file is written atomically. The evidence hash is re-verified just before
``result.json`` is written, and the verification is recorded in it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from forensics_core.atomic import write_json_atomic, write_npy_atomic, write_png_atomic
from forensics_core.detectors.base import Result
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.render import overlay, to_uint8_rgb


def evidence_summary(evidence: Evidence) -> dict[str, Any]:
    """JSON-ready identity of the evidence file (no pixels)."""
    return {
        "path": str(evidence.path),
        "file_name": evidence.path.name,
        "sha256": evidence.sha256,
        "md5": evidence.md5,
        "file_size": evidence.file_size,
        "format": evidence.format,
        "width": evidence.width,
        "height": evidence.height,
        "bit_depth": evidence.bit_depth,
        "original_mode": evidence.original_mode,
        "orientation": evidence.orientation,
        "jpeg_quality": evidence.jpeg.quality if evidence.jpeg else None,
        "notes": list(evidence.notes),
    }


def default_output_dir(evidence: Evidence, detector_id: str) -> Path:
    """``./tamper-results/<sha256[:12]>-<detector>`` in the current folder."""
    return Path.cwd() / "tamper-results" / f"{evidence.sha256[:12]}-{detector_id}"


def check_output_dir(out_dir: Path, evidence: Evidence) -> Path:
    """Refuse an output folder that holds the evidence file itself."""
    resolved = out_dir.resolve()
    if resolved == evidence.path.parent.resolve() or resolved == evidence.path.resolve():
        raise ForensicsError(
            f"Refusing to write results into {resolved}: it holds the evidence file. "
            "Choose another folder with --out."
        )
    return resolved


#: Colour map and value range of ``overlay.png``: a fixed scale, so that overlays of different
#: images and detectors compare colour for colour (the GUI can also stretch to a map's range).
OVERLAY_COLORMAP = "inferno"
OVERLAY_RANGE = (0.0, 1.0)


def write_result(out_dir: Path, evidence: Evidence, result: Result, opacity: float = 0.5) -> dict[str, Path]:
    """Write the four outputs of ``result`` into ``out_dir`` and return their paths.

    ``result.json`` records how ``overlay.png`` was drawn (colour map, value range, opacity).
    """
    out_dir = check_output_dir(out_dir, evidence)
    picture = to_uint8_rgb(evidence.rgb_float())
    paths = {
        "heatmap": write_npy_atomic(out_dir / "heatmap.npy", result.heatmap.astype(np.float32)),
        "mask": write_png_atomic(out_dir / "mask.png", result.mask.astype(np.uint8) * 255),
        "overlay": write_png_atomic(out_dir / "overlay.png", overlay(picture, result.heatmap, opacity,
                                                                  OVERLAY_COLORMAP, OVERLAY_RANGE)),
    }
    evidence.verify_unchanged()
    record = {
        "evidence": evidence_summary(evidence),
        "evidence_hash_reverified_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "result": result.summary(),
        "files": {name: path.name for name, path in paths.items()},
        "overlay": {"colormap": OVERLAY_COLORMAP, "value_range": list(OVERLAY_RANGE), "opacity": opacity},
    }
    paths["result"] = write_json_atomic(out_dir / "result.json", record)
    return paths
