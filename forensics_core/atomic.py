"""Atomic writing of derived files: a temporary file in the same folder, then ``os.replace``.

A reader never sees a half-written output, and an interrupted run leaves the old file intact.
Temporary files are named ``.<target>.<pid>-<random>.tmp``; one left behind by a writer that was
killed is removed by :func:`remove_stale_temp_files`. JSON is written strictly (RFC 8259: no
``NaN`` or ``Infinity``).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import struct
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}-", suffix=".tmp", dir=target.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp makes 0600; derived files get the usual mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def strict_json(obj: Any, indent: int | None = 2) -> str:
    """``obj`` as strict JSON text: NumPy values converted, non-finite floats written as ``null``.

    JSON has no NaN or infinity (RFC 8259); Python's default output (``NaN``) is not valid JSON
    and other tools refuse to read it. An undefined figure (a NaN from a metric that does not
    apply) is therefore written as ``null``.
    """
    return json.dumps(_finite(obj), indent=indent, sort_keys=False, default=_json_default, allow_nan=False)


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented strict JSON atomically (see :func:`strict_json`)."""
    return write_text_atomic(path, strict_json(obj) + "\n")


_TEMP_NAME = re.compile(r"^\..+\.(?P<pid>\d+)-[^.]+\.tmp$")
_UNOWNED_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")
_UNOWNED_TEMP_AGE_S = 3600.0


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # it exists but belongs to another user
    return True


def remove_stale_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files that a killed writer left in ``folder``; return what was removed.

    A temporary file is stale when the process named in it no longer runs (files from an older
    naming without a process id: when untouched for an hour). Files of writers still running
    are left alone.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if match:
                stale = not _process_alive(int(match.group("pid")))
            else:
                stale = bool(_UNOWNED_TEMP_NAME.match(entry.name)) and (
                    now - entry.stat(follow_symlinks=False).st_mtime > _UNOWNED_TEMP_AGE_S
                )
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def write_npy_atomic(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` in ``.npy`` format atomically."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return write_bytes_atomic(path, buffer.getvalue())


def write_png_atomic(
    path: str | os.PathLike[str], rgb_or_grey: np.ndarray, text: dict[str, str] | None = None
) -> Path:
    """Encode an RGB (HxWx3) or grey (HxW) uint8 array as PNG and write it atomically.

    ``text`` entries become PNG ``tEXt`` chunks (Latin-1 keyword and value, keyword 1-79 chars).
    """
    import cv2

    image = np.ascontiguousarray(rgb_or_grey)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"could not encode {path} as PNG")
    data = encoded.tobytes()
    for keyword, value in (text or {}).items():
        data = _with_png_text(data, keyword, value)
    return write_bytes_atomic(path, data)


def _with_png_text(png: bytes, keyword: str, value: str) -> bytes:
    """Insert a ``tEXt`` chunk right after the IHDR chunk (PNG specification, section 11.3.4.3)."""
    payload = keyword.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(payload)) + b"tEXt" + payload
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + payload))
    ihdr_end = 8 + 8 + 13 + 4  # signature, IHDR length+type, IHDR data, CRC
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def _finite(value: Any) -> Any:
    """A copy of ``value`` with every non-finite float (Python or NumPy) replaced by ``None``."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return _finite(value.tolist())
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
