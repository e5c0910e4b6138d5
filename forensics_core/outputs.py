"""Writing a result to disk: heatmap.npy, mask.png, overlay.png and result.json.

Derived files never go next to (or over) the evidence: the output folder must not lie inside the
evidence's folder, and every file is written atomically. The evidence hash is re-verified just
before ``result.json`` is written, and the verification is recorded in it. ``result.json`` is
written last and names the run and every file's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from forensics_core.atomic import (
    remove_stale_temp_files,
    write_json_atomic,
    write_npy_atomic,
    write_png_atomic,
)
from forensics_core.calibration.verdict import verdict
from forensics_core.detectors.base import Result
from forensics_core.errors import ForensicsError
from forensics_core.evidence import Evidence
from forensics_core.render import overlay, to_uint8_rgb, with_colour_bar


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
    """Refuse an output folder that is the evidence's folder or lies anywhere inside it.

    Derived files written beside the evidence mix the examiner's working files with the
    exhibit (and a later copy of the exhibit folder would carry them along).
    """
    resolved = Path(out_dir).expanduser().resolve()
    evidence_folder = evidence.path.parent.resolve()
    if resolved == evidence.path.resolve() or resolved.is_relative_to(evidence_folder):
        raise ForensicsError(
            f"Refusing to write results into {resolved}: it is inside the folder that holds the "
            f"evidence ({evidence_folder}), and derived files must be kept apart from the exhibit. "
            "Choose a folder elsewhere with --out (when no --out is given, results go to "
            "./tamper-results under the folder you run the command from)."
        )
    return resolved


def _output_error(out_dir: Path, exc: OSError) -> ForensicsError:
    reason = exc.strerror or str(exc)
    where = exc.filename or out_dir
    return ForensicsError(
        f"Cannot write results to {out_dir}: {reason} ({where}). Choose a folder you can write "
        "to with --out."
    )


def prepare_output_dir(out_dir: Path, evidence: Evidence) -> Path:
    """Check, create and test ``out_dir`` before any work is spent; remove stale temporary files.

    Raises :class:`ForensicsError` (with the reason) when the folder is inside the evidence's
    folder, cannot be created, or cannot be written to.
    """
    resolved = check_output_dir(out_dir, evidence)
    try:
        resolved.mkdir(parents=True, exist_ok=True)
        if not resolved.is_dir():
            raise NotADirectoryError(20, "not a folder", str(resolved))
        probe = tempfile.NamedTemporaryFile(dir=resolved, prefix=".write-test-", delete=True)
        probe.close()
    except OSError as exc:
        raise _output_error(resolved, exc) from exc
    remove_stale_temp_files(resolved)
    return resolved


#: Colour map and value range of ``overlay.png``: a fixed scale, so that overlays of different
#: images and detectors compare colour for colour (the GUI can also stretch to a map's range).
OVERLAY_COLORMAP = "inferno"
OVERLAY_RANGE = (0.0, 1.0)
RESULT_NAME = "result.json"


def new_run_id() -> str:
    """A unique id for one analysis run: UTC time and 8 random hex digits."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def _sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_result(out_dir: Path, evidence: Evidence, result: Result, opacity: float = 0.5) -> dict[str, Path]:
    """Write the four outputs of ``result`` into ``out_dir`` and return their paths.

    The run gets an id (:func:`new_run_id`), stored in the PNG files' text chunks. A previous
    ``result.json`` in the folder is removed first and the new one is written last, listing the
    run id and every file's SHA-256: files of a run killed half-way are never tied to a
    ``result.json`` (:func:`verify_result_folder` checks a folder). ``result.json`` also records
    how ``overlay.png`` was drawn (colour map, value range, opacity; its colour bar is added
    below the picture). Failures to write raise
    :class:`ForensicsError` with the reason.
    """
    out_dir = prepare_output_dir(out_dir, evidence)
    run_id = new_run_id()
    picture = to_uint8_rgb(evidence.rgb_float())
    tag = {"tamper-workbench run": run_id}
    try:
        (out_dir / RESULT_NAME).unlink(missing_ok=True)
        paths = {
            "heatmap": write_npy_atomic(out_dir / "heatmap.npy", result.heatmap.astype(np.float32)),
            "mask": write_png_atomic(out_dir / "mask.png", result.mask.astype(np.uint8) * 255, tag),
            "overlay": write_png_atomic(out_dir / "overlay.png", with_colour_bar(
                overlay(picture, result.heatmap, opacity, OVERLAY_COLORMAP, OVERLAY_RANGE),
                OVERLAY_COLORMAP, OVERLAY_RANGE), tag),
        }
        files = {name: {"file": path.name, "sha256": _sha256_of(path)} for name, path in paths.items()}
    except OSError as exc:
        raise _output_error(out_dir, exc) from exc
    evidence.verify_unchanged()
    record = {
        "run_id": run_id,
        "evidence": evidence_summary(evidence),
        "evidence_hash_reverified_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "result": result.summary(),
        "verdict": verdict(result).text,
        "files": files,
        "overlay": {"colormap": OVERLAY_COLORMAP, "value_range": list(OVERLAY_RANGE), "opacity": opacity,
                    "colour_bar": "below the picture: the first height rows are the image, the rest its scale"},
    }
    try:
        paths["result"] = write_json_atomic(out_dir / RESULT_NAME, record)
    except OSError as exc:
        raise _output_error(out_dir, exc) from exc
    return paths


def verify_result_folder(out_dir: Path) -> list[str]:
    """Problems with a result folder (empty list: complete, every file matches ``result.json``)."""
    record_path = Path(out_dir) / RESULT_NAME
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        files = record["files"]
        listed = [(entry["file"], entry["sha256"]) for entry in files.values()]
    except FileNotFoundError:
        return [f"{record_path} is missing: the run did not finish"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return [f"{record_path} cannot be read ({exc})"]
    problems = []
    for name, sha256 in listed:
        path = Path(out_dir) / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif _sha256_of(path) != sha256:
            problems.append(f"{name} does not match its SHA-256 in {RESULT_NAME} (another run wrote it)")
    return problems
