"""Reading files of an untrusted case folder: only regular files inside it, and never too much.

A name from a case document is first checked against :data:`~forensics_core.case.schema.CASE_FILE_NAME`
(no absolute path, no ``..``, no hidden file); then the file is opened without following a
symbolic link and without blocking (a FIFO cannot hang the reader), its type is checked on the
open handle (a device, FIFO or socket is refused), and at most ``max_bytes`` are read.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from forensics_core.case.schema import CASE_FILE_NAME, CaseFormatError

#: Largest ``case.json`` read (bytes).
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
#: Largest compressed map file read (bytes).
MAX_MAPS_BYTES = 2 * 1024**3


def inside_case(case_dir: Path, name: str) -> Path:
    """The path of ``name`` in ``case_dir``, refusing any name that could leave the folder."""
    if re.fullmatch(CASE_FILE_NAME, name) is None or ".." in name.split("/"):
        raise CaseFormatError(f"The case refers to '{name[:120]}', which is not a plain file name inside its folder.")
    root = case_dir.resolve()
    target = (root / name).resolve()
    if not target.is_relative_to(root):
        raise CaseFormatError(f"The case file '{name}' leads outside the case folder {root}.")
    return root / name


def read_regular_file(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of ``path`` if it is a regular file (not a link) of at most ``max_bytes`` bytes."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise CaseFormatError(f"The {what} {path} is missing from the case folder.") from None
    except OSError as exc:
        raise CaseFormatError(f"The {what} {path} cannot be opened ({exc.strerror or exc}); "
                              "it must be a regular file, not a link.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CaseFormatError(f"The {what} {path} is not a regular file (a device, pipe or folder); refused.")
        if info.st_size > max_bytes:
            raise CaseFormatError(f"The {what} {path} is {info.st_size:,} bytes, more than the {max_bytes:,} "
                                  "accepted; refused.")
        chunks, remaining = [], max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise CaseFormatError(f"The {what} {path} cannot be read ({exc.strerror or exc}).") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise CaseFormatError(f"The {what} {path} grew past {max_bytes:,} bytes while it was read; refused.")
    return data


def read_case_file(case_dir: Path, name: str, max_bytes: int, what: str) -> bytes:
    """Read the case file ``name`` (a name from the case document) with every check above."""
    return read_regular_file(inside_case(case_dir, name), max_bytes, what)
