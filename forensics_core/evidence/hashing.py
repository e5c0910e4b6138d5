"""Hashes of the evidence bytes (SHA-256 for identity, MD5 for legacy case-management tools)."""

from __future__ import annotations

import hashlib
import os

from forensics_core.errors import EvidenceError

_CHUNK = 1 << 20


def hash_bytes(data: bytes) -> tuple[str, str]:
    """Return ``(sha256_hex, md5_hex)`` of ``data``."""
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data, usedforsecurity=False).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 hex digest of a file, read in chunks, opened read-only.

    Raises ``EvidenceError`` when the file cannot be read (missing, directory, permission).
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError as exc:
        raise EvidenceError(f"{path} does not exist (it was moved, renamed or deleted).") from exc
    except IsADirectoryError as exc:
        raise EvidenceError(f"{path} is a folder, not an image file.") from exc
    except PermissionError as exc:
        raise EvidenceError(f"{path} cannot be read: permission denied.") from exc
    except OSError as exc:
        raise EvidenceError(f"{path} cannot be read: {exc.strerror or exc}.") from exc
    return digest.hexdigest()
