"""Run Pillow with this package's own safety settings, then put Pillow's back.

Inside :func:`pillow_evidence_settings`:

* ``Image.MAX_IMAGE_PIXELS`` is ``None``, so that the loader's own ``max_pixels`` limit (checked
  on the header, before any pixel is decoded) is the one that applies, with its own message;
* ``ImageFile.LOAD_TRUNCATED_IMAGES`` is ``False``, so a cut file fails instead of being
  padded with grey.

Both are module globals of Pillow. They are changed only while at least one evidence decode is
running (reference-counted under a lock, so concurrent loads restore the caller's values
correctly); other code that opens images in another thread at that very moment would run with
these settings too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, ImageFile

_lock = threading.Lock()
_depth = 0
_saved: tuple[int | None, bool] = (None, False)


@contextmanager
def pillow_evidence_settings() -> Iterator[None]:
    """Context manager: no Pillow pixel limit, no loading of truncated images."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
            Image.MAX_IMAGE_PIXELS = None
            ImageFile.LOAD_TRUNCATED_IMAGES = False
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = _saved
