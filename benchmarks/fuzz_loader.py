"""Fuzz campaign against the evidence loader: hostile and mutated images through ``load_evidence``.

Seed pictures in every supported format are made here (JPEG baseline/progressive/grey/CMYK,
PNG 1/8/16 bit, palette, interlaced, TIFF 8/16 bit, packbits, multi-page, BMP, RLE BMP, GIF,
WebP lossy/lossless, HEIF when an encoder is available, DNG). Each input is a seed after one
mutation (byte flips in the header or anywhere, truncation, inserted or deleted bytes, size
fields changed, length fields changed, chunk CRCs repaired so the damage reaches the decoder,
two seeds spliced) or a generated bomb (small files declaring huge pictures, a zlib-bomb PNG,
one-row strips). Every input is loaded in a worker process with a time limit and a memory limit,
and the outcome is counted:

* ``loaded``: loaded, and the size is the seed's, or a note explains why not;
* ``clean error``: refused with :class:`~forensics_core.errors.ForensicsError` (the user's message);
* ``other exception``: any other exception (a traceback the user would see);
* ``hang``: past the time limit (the worker is killed);
* ``crash``: the worker process died (a signal in native code);
* ``memory blow-up``: the worker's peak memory grew past the limit, or memory ran out;
* ``silent size mismatch``: loaded with more pixels than the seed holds and no note saying so
  (pixels that are not in the file, i.e. padding);
* ``silent reduction``: loaded with a different size but no more pixels than the seed, and no
  note: part of the file's data was ignored or read in another shape, which the loader could not
  tell from the file (reported, not counted as a failure; see the list printed after the table);
* ``smaller within a block``: loaded a few rows or columns smaller than the seed, within the last
  coding block of a block-coded format (JPEG MCU, WebP macroblock, HEVC coding unit, a byte of
  1-bit pixels): such a file is a valid picture of the smaller size, and nothing in it tells the
  difference; counted apart, not as a failure.

Run from the repository root::

    python benchmarks/fuzz_loader.py --inputs 10000 --workers 2 --markdown benchmarks/results/fuzz.md

Exit status 1 when any count but ``loaded`` and ``clean error`` is above zero.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import platform
import random
import resource
import struct
import sys
import tempfile
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUTCOMES = ("loaded", "clean error", "smaller within a block", "silent reduction", "other exception", "hang",
            "crash", "memory blow-up", "silent size mismatch")
FAILURES = OUTCOMES[4:]
# Coding block of the block-coded formats: a header declaring a few rows or columns fewer, within
# the last block, is a valid file of that size (nothing in it tells the difference), not padding.
_BLOCK = {"jpeg": 16, "webp": 16, "heif": 64, "png-bilevel": 8}
_SIZE_NOTE_WORDS = ("size", "header", "damaged", "rows", "extra", "holds more")


# ---- seeds ----------------------------------------------------------------------------------
def _photo_like(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth picture with texture and an edge, so that every codec has something to code."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width, y / height, (x + y) / (width + height)], axis=-1) * 200
    base[height // 3 : 2 * height // 3, width // 4 : width // 2] += 40
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def _pil_bytes(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _tiff16(rgb: np.ndarray) -> bytes:
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, rgb.astype(np.uint16) * 257, photometric="rgb", rowsperstrip=8)
    return buffer.getvalue()


def _png16(rgb: np.ndarray) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", rgb[..., ::-1].astype(np.uint16) * 257)
    assert ok
    return encoded.tobytes()


def _dng(tmp: Path) -> bytes:
    from tests.evidence_fixtures import write_dng

    return write_dng(tmp / "seed.dng", 48, 64).read_bytes()


def make_seeds(tmp: Path) -> dict[str, tuple[bytes, str, tuple[int, int]]]:
    """{seed name: (bytes, file suffix, (height, width))}, every supported format represented."""
    height, width = 48, 64
    rgb = _photo_like(height, width, 0)
    image = Image.fromarray(rgb)
    grey = image.convert("L")
    seeds = {
        "jpeg": (_pil_bytes(image, "JPEG", quality=90), ".jpg"),
        "jpeg-progressive": (_pil_bytes(image, "JPEG", quality=85, progressive=True), ".jpg"),
        "jpeg-grey": (_pil_bytes(grey, "JPEG", quality=90), ".jpg"),
        "jpeg-444": (_pil_bytes(image, "JPEG", quality=95, subsampling=0), ".jpg"),
        "jpeg-cmyk": (_pil_bytes(image.convert("CMYK"), "JPEG", quality=90), ".jpg"),
        "png": (_pil_bytes(image, "PNG"), ".png"),
        "png-rgba": (_pil_bytes(image.convert("RGBA"), "PNG"), ".png"),
        "png-palette": (_pil_bytes(image.quantize(64), "PNG"), ".png"),
        "png-bilevel": (_pil_bytes(grey.convert("1"), "PNG"), ".png"),
        "png-interlaced": (_pil_bytes(image, "PNG", interlace=1), ".png"),
        "png-16bit": (_png16(rgb), ".png"),
        "tiff": (_pil_bytes(image, "TIFF"), ".tif"),
        "tiff-packbits": (_pil_bytes(image, "TIFF", compression="packbits"), ".tif"),
        "tiff-deflate": (_pil_bytes(image, "TIFF", compression="tiff_adobe_deflate"), ".tif"),
        "tiff-16bit": (_tiff16(rgb), ".tif"),
        "tiff-multipage": (_pil_bytes(image, "TIFF", save_all=True, append_images=[grey.convert("RGB")]),
                           ".tif"),
        "bmp": (_pil_bytes(image, "BMP"), ".bmp"),
        "bmp-palette": (_pil_bytes(image.quantize(16), "BMP"), ".bmp"),
        "gif": (_pil_bytes(image.quantize(128), "GIF"), ".gif"),
        "webp": (_pil_bytes(image, "WEBP", quality=80), ".webp"),
        "webp-lossless": (_pil_bytes(image, "WEBP", lossless=True), ".webp"),
        "dng": (_dng(tmp), ".dng"),
    }
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        seeds["heif"] = (_pil_bytes(image, "HEIF", quality=80), ".heic")
    except Exception:  # noqa: BLE001 - no HEIF encoder in this build: HEIF is fuzzed without a seed
        pass
    return {name: (data, suffix, (height, width)) for name, (data, suffix) in seeds.items()}


# ---- structure-aware helpers ----------------------------------------------------------------
def _png_chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every PNG chunk that fits in ``data``."""
    chunks, position = [], 8
    while position + 12 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunks.append((position, length))
        position += 12 + length
    return chunks


def repair_png_crcs(data: bytes) -> bytes:
    """Recompute every chunk CRC, so that a mutation reaches the decoder instead of the CRC check."""
    out = bytearray(data)
    for offset, length in _png_chunks(data):
        end = offset + 8 + length
        if end + 4 <= len(out):
            struct.pack_into(">I", out, end, zlib.crc32(bytes(out[offset + 4 : end])))
    return bytes(out)


def _jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(offset of the length field, length) of every JPEG marker segment before the first scan."""
    segments, position = [], 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        segments.append((position + 2, length))
        if marker == 0xDA:
            break
        position += 2 + length
    return segments


def _tiff_entries(data: bytes) -> list[int]:
    """Offsets of the 12-byte entries of the first TIFF IFD."""
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return []
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    if offset + 2 > len(data):
        return []
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    return [offset + 2 + 12 * i for i in range(min(count, 200)) if offset + 14 + 12 * i <= len(data)]


def _interesting_value(rng: random.Random, old: int, bits: int) -> int:
    top = (1 << bits) - 1
    return rng.choice([0, 1, 2, old + 1, old - 1, old * 2, old * 10, old * 100, old // 2, top, top // 2,
                       rng.randrange(top + 1)]) & top


# ---- mutations ------------------------------------------------------------------------------
def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    span = min(len(out), 600) if rng.random() < 0.6 else len(out)
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(span)
        out[position] = rng.randrange(256) if rng.random() < 0.5 else out[position] ^ (1 << rng.randrange(8))
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, len(data))]


def insert_or_delete(data: bytes, rng: random.Random) -> bytes:
    position = rng.randrange(len(data))
    if rng.random() < 0.5:
        return data[:position] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) + data[position:]
    return data[:position] + data[position + rng.randint(1, 64) :]


def change_size_fields(data: bytes, rng: random.Random, shape: tuple[int, int]) -> bytes:
    """Rewrite 16/32-bit integers in the header that equal the seed's width or height."""
    out = bytearray(data)
    height, width = shape
    candidates = []
    for fmt, size in ((">H", 2), ("<H", 2), (">I", 4), ("<I", 4)):
        for position in range(0, min(len(out), 1024) - size):
            value = struct.unpack_from(fmt, out, position)[0]
            if value in (width, height) or (fmt.endswith("H") and value in (width - 1, height - 1)):
                candidates.append((position, fmt, size, value))
    if not candidates:
        return flip_bytes(data, rng)
    for position, fmt, size, value in rng.sample(candidates, min(len(candidates), rng.randint(1, 2))):
        struct.pack_into(fmt, out, position, _interesting_value(rng, value, 8 * size))
    return bytes(out)


def change_length_fields(data: bytes, rng: random.Random) -> bytes:
    """Corrupt a PNG chunk length, a JPEG segment length, a TIFF tag value or a RIFF size."""
    out = bytearray(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n" and _png_chunks(data):
        offset, length = rng.choice(_png_chunks(data))
        struct.pack_into(">I", out, offset, _interesting_value(rng, length, 32))
    elif data[:2] == b"\xff\xd8" and _jpeg_segments(data):
        offset, length = rng.choice(_jpeg_segments(data))
        struct.pack_into(">H", out, offset, _interesting_value(rng, length, 16))
    elif _tiff_entries(data):
        entry = rng.choice(_tiff_entries(data))
        order = "<" if data[:2] == b"II" else ">"
        field = rng.choice((4, 8))  # the count, or the value/offset
        (old,) = struct.unpack_from(order + "I", out, entry + field)
        struct.pack_into(order + "I", out, entry + field, _interesting_value(rng, old, 32))
    elif data[:4] == b"RIFF":
        position = rng.choice([4, 16]) if len(out) >= 20 else 4
        (old,) = struct.unpack_from("<I", out, position)
        struct.pack_into("<I", out, position, _interesting_value(rng, old, 32))
    else:
        return flip_bytes(data, rng)
    return bytes(out)


def splice(data: bytes, other: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, len(data))] + other[rng.randrange(len(other)) :]


# ---- bombs ----------------------------------------------------------------------------------
def _png(width: int, height: int, raw: bytes, depth: int = 8, colour: int = 2) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def make_bomb(index: int, rng: random.Random, seeds: dict[str, tuple[bytes, str, tuple[int, int]]]) -> bytes:
    """A generated hostile file (no seed size to compare with)."""
    kind = index % 8
    if kind == 0:  # tiny PNG declaring a huge picture
        side = rng.choice([5000, 14000, 30000, 65535])
        return _png(side, side, b"\x00" + bytes(side * 3), 8, 2)
    if kind == 1:  # zlib bomb: complete, valid data that expands ~1000 times
        side = rng.choice([1000, 2000])
        return _png(side, side, (b"\x00" + bytes(side * 3)) * side)
    if kind == 2:  # 1-row strip
        width = rng.choice([100_000, 67_108_865])
        return _png(width, 1, b"\x00" + bytes(min(width, 1 << 20) // 8), 1, 0)
    if kind == 3:  # JPEG whose frame header declares a huge picture
        data = bytearray(seeds["jpeg"][0])
        sof = data.find(b"\xff\xc0")
        struct.pack_into(">HH", data, sof + 5, rng.choice([9999, 14000]), rng.choice([14000, 20000]))
        return bytes(data)
    if kind == 4:  # GIF whose logical screen and frame declare a huge picture
        data = bytearray(seeds["gif"][0])
        width, height = rng.choice([(23822, 6244), (16000, 12000)])
        struct.pack_into("<HH", data, 6, width, height)
        descriptor = data.find(b"\x2c", 13 + 3 * 256 if data[10] & 0x80 else 13)
        if descriptor > 0:
            struct.pack_into("<HH", data, descriptor + 5, width, height)
        return bytes(data)
    if kind == 5:  # BMP whose header declares a huge picture
        data = bytearray(seeds["bmp"][0])
        struct.pack_into("<ii", data, 18, rng.choice([12000, 30000]), rng.choice([12000, -12000]))
        return bytes(data)
    if kind == 6:  # TIFF whose width and length tags declare a huge picture
        data = bytearray(seeds["tiff"][0])
        order = "<" if data[:2] == b"II" else ">"
        for entry in _tiff_entries(bytes(data)):
            (tag,) = struct.unpack_from(order + "H", data, entry)
            if tag in (256, 257):
                struct.pack_into(order + "HHI", data, entry + 2, 4, 1, 14000)
        return bytes(data)
    # PNG: picture area under the pixel limit, almost no data
    return _png(rng.choice([8000, 12000]), rng.choice([8000, 12000]), b"\x00" * 100)


# ---- inputs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FuzzInput:
    index: int
    kind: str
    seed: str
    suffix: str
    data: bytes
    expected_shape: tuple[int, int] | None


MUTATIONS = ("flip", "truncate", "insert-delete", "size-fields", "length-fields", "splice", "bomb")


def make_input(index: int, campaign_seed: int, seeds: dict[str, tuple[bytes, str, tuple[int, int]]]) -> FuzzInput:
    """The ``index``-th input of the campaign (deterministic)."""
    rng = random.Random(campaign_seed * 1_000_003 + index)
    names = sorted(seeds)
    name = names[index % len(names)]
    data, suffix, shape = seeds[name]
    kind = MUTATIONS[(index // len(names)) % len(MUTATIONS)]
    if kind == "bomb":
        return FuzzInput(index, kind, "generated", rng.choice([".png", ".jpg", ".bin"]),
                         make_bomb(index // len(names) // len(MUTATIONS), rng, seeds), None)
    if kind == "flip":
        mutated = flip_bytes(data, rng)
    elif kind == "truncate":
        mutated = truncate(data, rng)
    elif kind == "insert-delete":
        mutated = insert_or_delete(data, rng)
    elif kind == "size-fields":
        mutated = change_size_fields(data, rng, shape)
    elif kind == "length-fields":
        mutated = change_length_fields(data, rng)
    else:
        mutated = splice(data, seeds[rng.choice(names)][0], rng)
    if mutated[:8] == b"\x89PNG\r\n\x1a\n" and rng.random() < 0.7:
        mutated = repair_png_crcs(mutated)
    return FuzzInput(index, kind, name, suffix, mutated, shape)


# ---- workers --------------------------------------------------------------------------------
def _peak_rss_reset() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # reset the peak resident set size (Linux)
    except OSError:
        pass


def _peak_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def classify(item: FuzzInput, folder: Path, max_pixels: int, memory_limit: int) -> tuple[str, str]:
    """Load one input in this process and return (outcome, detail)."""
    from forensics_core.errors import ForensicsError
    from forensics_core.evidence import load_evidence

    path = folder / f"input-{item.index}{item.suffix}"
    path.write_bytes(item.data)
    _peak_rss_reset()
    baseline = _peak_rss_bytes()
    try:
        evidence = load_evidence(path, max_pixels=max_pixels)
    except MemoryError as exc:
        return "memory blow-up", f"MemoryError {exc}"
    except ForensicsError as exc:
        if str(exc).startswith("Not enough memory"):
            return "memory blow-up", str(exc)[:200]
        return "clean error", str(exc)[:200]
    except Exception as exc:  # noqa: BLE001 - this is what the campaign looks for
        return "other exception", f"{type(exc).__name__}: {str(exc)[:200]}"
    finally:
        path.unlink(missing_ok=True)
    grown = _peak_rss_bytes() - baseline
    if grown > memory_limit:
        return "memory blow-up", f"peak memory grew by {grown >> 20} MB"
    shape = (evidence.height, evidence.width)
    if item.expected_shape is not None and shape != item.expected_shape:
        noted = any(word in note.lower() for note in evidence.notes for word in _SIZE_NOTE_WORDS)
        if not noted:
            block = next((size for prefix, size in _BLOCK.items() if item.seed.startswith(prefix)), 1)
            detail = f"{shape} instead of {item.expected_shape}; notes {evidence.notes}"
            if all(e - block < s <= e for s, e in zip(shape, item.expected_shape)):
                return "smaller within a block", detail
            if shape[0] * shape[1] <= item.expected_shape[0] * item.expected_shape[1]:
                return "silent reduction", detail
            return "silent size mismatch", detail
    return "loaded", f"{shape}"


def _worker(connection, max_pixels: int, memory_limit: int) -> None:
    """Serve inputs over ``connection`` until it closes; memory capped by RLIMIT_AS."""
    import forensics_core.evidence  # noqa: F401 - import before measuring the address space

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # libtiff and tifffile print every complaint; the outcome is what counts

    try:
        with open("/proc/self/status") as handle:
            size = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:"))
        cap = size + 2 * memory_limit
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (OSError, ValueError, StopIteration):
        pass
    folder = Path(tempfile.mkdtemp(prefix="fuzz-worker-"))
    try:
        while True:
            try:
                item = connection.recv()
            except EOFError:
                break
            if item is None:
                break
            connection.send(classify(item, folder, max_pixels, memory_limit))
    finally:
        for leftover in folder.iterdir():
            leftover.unlink(missing_ok=True)
        folder.rmdir()


class Worker:
    """One worker process, restarted after a hang or a crash."""

    def __init__(self, context, max_pixels: int, memory_limit: int) -> None:
        self._args = (context, max_pixels, memory_limit)
        self._start()

    def _start(self) -> None:
        context, max_pixels, memory_limit = self._args
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, max_pixels, memory_limit), daemon=True)
        self.process.start()
        child.close()
        self.item: FuzzInput | None = None
        self.started = 0.0

    def submit(self, item: FuzzInput) -> None:
        self.item, self.started = item, time.monotonic()
        self.connection.send(item)

    def poll(self, time_limit: float) -> tuple[str, str] | None:
        """The outcome of the current input when there is one (None: still working)."""
        if self.connection.poll():
            try:
                outcome = self.connection.recv()
            except (EOFError, OSError):
                outcome = None
            if outcome is not None:
                self.item = None
                return outcome
        if not self.process.is_alive():
            code = self.process.exitcode
            self.restart()
            return "crash", f"worker died (exit code {code})"
        if time.monotonic() - self.started > time_limit:
            self.process.kill()
            self.process.join()
            self.restart()
            return "hang", f"more than {time_limit:.0f} s"
        return None

    def restart(self) -> None:
        self.connection.close()
        self.process.join(timeout=5)
        self._start()

    def close(self) -> None:
        try:
            self.connection.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


def run_campaign(inputs: int, workers: int = 2, campaign_seed: int = 0, time_limit: float = 30.0,
                 memory_limit: int = 1 << 30, max_pixels: int = 200_000_000, show_progress: bool = False,
                 ) -> tuple[Counter, dict[str, Counter], list[str]]:
    """Run the campaign; return (counts, counts per mutation kind, details of every failure)."""
    with tempfile.TemporaryDirectory() as tmp:
        seeds = make_seeds(Path(tmp))
    # Fresh worker processes: a child forked from a process whose OpenMP or BLAS thread pools are
    # already running (PyTorch, LibRaw) can deadlock in them.
    context = mp.get_context("spawn")
    pool = [Worker(context, max_pixels, memory_limit) for _ in range(workers)]
    counts: Counter = Counter({outcome: 0 for outcome in OUTCOMES})
    by_kind: dict[str, Counter] = {kind: Counter() for kind in MUTATIONS}
    failures: list[str] = []
    next_index, done, started = 0, 0, time.monotonic()
    try:
        while done < inputs:
            for worker in pool:
                if worker.item is None and next_index < inputs:
                    worker.submit(make_input(next_index, campaign_seed, seeds))
                    next_index += 1
                    continue
                if worker.item is None:
                    continue
                item = worker.item
                result = worker.poll(time_limit)
                if result is None:
                    continue
                outcome, detail = result
                counts[outcome] += 1
                by_kind[item.kind][outcome] += 1
                done += 1
                if outcome in FAILURES or outcome in ("silent reduction", "smaller within a block"):
                    failures.append(f"#{item.index} {item.kind} of {item.seed}: {outcome}: {detail}")
                if show_progress and done % 500 == 0:
                    print(f"{done}/{inputs} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
            time.sleep(0.001)
    finally:
        for worker in pool:
            worker.close()
    return counts, by_kind, failures


def markdown_table(counts: Counter, by_kind: dict[str, Counter], inputs: int, seconds: float,
                   args: argparse.Namespace, failures: list[str] = ()) -> str:
    """The campaign's table for benchmarks/results/fuzz.md."""
    def by_seed(outcome: str) -> Counter:
        return Counter(line.split(" of ", 1)[1].split(":", 1)[0] for line in failures if f": {outcome}:" in line)

    reductions, within_block = by_seed("silent reduction"), by_seed("smaller within a block")
    lines = [
        "## Fuzz campaign of the evidence loader (`benchmarks/fuzz_loader.py`)",
        "",
        f"{inputs:,} inputs (campaign seed {args.seed}), each through `load_evidence` in a worker "
        f"process limited to {args.time_limit:.0f} s and {args.memory_limit_mb} MB of memory growth; "
        f"{args.workers} workers, {seconds:.0f} s on {platform.machine()} ({os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end), {datetime.now(timezone.utc):%Y-%m-%d}. "
        "Inputs: mutated seeds in every supported format and generated bombs. Command: "
        f"`python benchmarks/fuzz_loader.py --inputs {inputs} --workers {args.workers} --seed {args.seed}`.",
        "",
        "| mutation | " + " | ".join(OUTCOMES) + " |",
        "|---|" + "---|" * len(OUTCOMES),
    ]
    for kind in MUTATIONS:
        lines.append(f"| {kind} | " + " | ".join(str(by_kind[kind][o]) for o in OUTCOMES) + " |")
    lines.append("| **all** | " + " | ".join(f"**{counts[o]}**" for o in OUTCOMES) + " |")
    if reductions:
        lines += ["", "Silent reductions by seed format (size fields rewritten so that the file declares "
                  "fewer rows or columns, or the same data in another shape, e.g. 64 x 48 pixels declared "
                  "as 128 x 24: the same number of bytes, no row padding, so nothing in the file shows it): "
                  + ", ".join(f"{name} {count}" for name, count in reductions.most_common()) + "."]
    if within_block:
        lines += ["", "Smaller within a block by seed format (a header declaring a few rows or columns fewer, "
                  "inside the last coding block, whose data is decoded either way): "
                  + ", ".join(f"{name} {count}" for name, count in within_block.most_common()) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="campaign seed (inputs are deterministic)")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per input")
    parser.add_argument("--memory-limit-mb", type=int, default=1024, help="peak memory growth per input")
    parser.add_argument("--markdown", type=Path, help="write the table to this file")
    args = parser.parse_args(argv)
    started = time.monotonic()
    counts, by_kind, failures = run_campaign(args.inputs, args.workers, args.seed, args.time_limit,
                                             args.memory_limit_mb << 20, show_progress=True)
    seconds = time.monotonic() - started
    table = markdown_table(counts, by_kind, args.inputs, seconds, args, failures)
    print(table)
    for line in failures[:50]:
        print(line)
    if args.markdown:
        from forensics_core.atomic import write_text_atomic

        write_text_atomic(args.markdown, table)
    return 1 if any(counts[o] for o in FAILURES) else 0


if __name__ == "__main__":
    raise SystemExit(main())
