"""Wait for one long library call while still checking cancel at least once a second.

Some steps are a single call into a native library that cannot be cut into pieces without
changing its result (OpenCV's SIFT on a 3-megapixel picture takes a few seconds). Such a call runs
in a worker thread (native code releases the GIL) while the calling thread wakes every
``interval_s`` to call ``tick`` (progress and cancel, :class:`forensics_core.detectors.base.
ProgressReporter`). When ``tick`` raises, that exception is raised at once; the worker finishes
its call on its own and its result is dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def call_while_checking(function: Callable[[], T], tick: Callable[[], object], interval_s: float = 0.2) -> T:
    """Return ``function()``, calling ``tick()`` every ``interval_s`` seconds until it has returned."""
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="long library call", daemon=True)
    worker.start()
    while True:
        worker.join(interval_s)
        if not worker.is_alive():
            break
        tick()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
