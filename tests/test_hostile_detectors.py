"""Generic contract of every registered detector under hostile input (issue 22, item 2): a memory
estimate, refusal beyond the memory budget before any work, and cancel checked at least once a
second of computation. New detectors are covered by registering."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from forensics_core import memory
from forensics_core.cli import main
from forensics_core.detectors import list_detectors
from forensics_core.errors import Cancelled
from forensics_core.evidence import load_evidence
from forensics_core.memory import MemoryBudgetError, parse_memory_size
from tests.planted import noisy_image_with_planted_region, write_png

DETECTORS = list_detectors()
IDS = [d.id for d in DETECTORS]


@pytest.fixture(scope="module")
def small_evidence(tmp_path_factory: pytest.TempPathFactory):
    rgb, _ = noisy_image_with_planted_region()
    return load_evidence(write_png(tmp_path_factory.mktemp("ev") / "q.png", rgb))


def _huge(width: int = 14000, height: int = 14000) -> SimpleNamespace:
    """Stands in for a 196-megapixel picture (only its size is read before the budget check)."""
    return SimpleNamespace(width=width, height=height, sha256="0" * 64)


@pytest.mark.parametrize("detector", DETECTORS, ids=IDS)
def test_memory_estimate_grows_with_the_picture(detector, small_evidence) -> None:
    params = detector.default_params()
    small = detector.estimate_peak_bytes(small_evidence, params)
    large = detector.estimate_peak_bytes(_huge(), params)
    assert isinstance(small, int) and 0 < small < large


@pytest.mark.parametrize("detector", DETECTORS, ids=IDS)
def test_run_over_the_budget_is_refused_before_any_work(detector, small_evidence, monkeypatch) -> None:
    def must_not_run(*_args, **_kwargs):
        raise AssertionError("analyse ran although the budget was exceeded")

    monkeypatch.setattr(detector, "analyse", must_not_run)
    with pytest.raises(MemoryBudgetError, match=r"memory budget of 1 KB \(as set\).*--max-memory"):
        detector.run(small_evidence, max_memory=1024, device="cpu")


def test_default_budget_comes_from_the_computers_memory(monkeypatch) -> None:
    detector = next(d for d in DETECTORS if d.id == "noise-baseline")
    monkeypatch.setattr(memory, "total_memory_bytes", lambda: 8 << 30)
    assert memory.default_memory_budget() == int(0.6 * (8 << 30))
    with pytest.raises(MemoryBudgetError, match=r"14000 x 14000 picture.*60% of this computer's 8 GB"):
        detector.run(_huge(), device="cpu")


def test_max_memory_on_the_command_line(tmp_path: Path, capsys) -> None:
    rgb, _ = noisy_image_with_planted_region()
    (tmp_path / "exhibit").mkdir()
    image = write_png(tmp_path / "exhibit" / "q.png", rgb)
    args = ["analyze", str(image), "--detector", "noise-baseline", "--out", str(tmp_path / "o"), "--quiet"]
    assert main(args + ["--max-memory", "1M"]) == 2
    err = capsys.readouterr().err
    assert "memory budget of 1 MB" in err and "--max-memory" in err
    assert main(args + ["--max-memory", "lots"]) == 2
    assert "not understood" in capsys.readouterr().err
    assert main(args + ["--max-memory", "64G"]) == 0


@pytest.mark.parametrize("text, expected", [("16G", 16 << 30), ("512m", 512 << 20), ("1.5GB", 3 << 29),
                                            ("2000", 2000), ("3 GiB", 3 << 30)])
def test_memory_sizes_are_parsed(text: str, expected: int) -> None:
    assert parse_memory_size(text) == expected


# ---- cancel at least once a second -----------------------------------------------------------
TRAINED = [d for d in DETECTORS if d.is_trained()]


@pytest.fixture(scope="module")
def cancel_evidence(tmp_path_factory: pytest.TempPathFactory):
    rng = np.random.default_rng(3)
    rgb, _ = noisy_image_with_planted_region(seed=3)
    big = np.tile(rgb, (3, 3, 1))[:480, :640]
    big = np.clip(big.astype(np.int16) + rng.integers(-2, 3, big.shape), 0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("cancel") / "q.jpg"  # JPEG: every detector accepts it
    Image.fromarray(big).save(path, "JPEG", quality=92)
    return load_evidence(path)


@pytest.mark.slow
@pytest.mark.parametrize("detector", TRAINED, ids=[d.id for d in TRAINED])
def test_cancel_is_checked_at_least_once_a_second(detector, cancel_evidence) -> None:
    """Gaps between cancel checks, measured in CPU time of this process on one thread (so that a
    busy machine does not stretch them), stay under a second."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    checks: list[float] = []

    def cancel() -> bool:
        checks.append(time.process_time())
        return False

    try:
        started = time.process_time()
        detector.run(cancel_evidence, cancel=cancel, device="cpu")
        finished = time.process_time()
    finally:
        torch.set_num_threads(threads)
    moments = [started, *checks, finished]
    longest = max(b - a for a, b in zip(moments, moments[1:]))
    assert longest <= 1.0, f"{detector.id}: {longest:.2f} s of computation without a cancel check"


@pytest.mark.slow
@pytest.mark.parametrize("detector", TRAINED, ids=[d.id for d in TRAINED])
def test_cancel_stops_the_run(detector, cancel_evidence) -> None:
    calls = []

    def cancel_on_third_check() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled):
        detector.run(cancel_evidence, cancel=cancel_on_third_check, device="cpu")


def test_ticks_after_every_layer_leave_the_output_unchanged_and_can_stop_a_forward_pass() -> None:
    import torch

    from forensics_core.models.layer_ticks import tick_after_every_layer

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Sequential(
        torch.nn.Conv2d(8, 4, 3), torch.nn.BatchNorm2d(4)), torch.nn.Conv2d(4, 2, 1)).eval()
    images = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        plain = model(images)
        ticks: list[int] = []
        with tick_after_every_layer(model, lambda: ticks.append(1)):
            ticked = model(images)
    assert torch.equal(plain, ticked)
    assert len(ticks) == 2 * 6  # before and after each of the six submodules

    def cancel_at_third() -> None:
        ticks.append(1)
        if len(ticks) == 3:
            raise Cancelled("The analysis was cancelled.")

    ticks.clear()
    with pytest.raises(Cancelled), torch.inference_mode(), tick_after_every_layer(model, cancel_at_third):
        model(images)
    assert len(ticks) == 3
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())  # hooks removed


def test_a_long_library_call_is_waited_for_while_cancel_is_checked() -> None:
    from forensics_core.blocking_calls import call_while_checking

    ticks: list[float] = []
    assert call_while_checking(lambda: time.sleep(0.5) or "done", lambda: ticks.append(time.monotonic()),
                               interval_s=0.05) == "done"
    assert len(ticks) >= 5  # checked while the call ran
    with pytest.raises(ZeroDivisionError):  # the call's own error reaches the caller
        call_while_checking(lambda: 1 / 0, lambda: None)

    def cancel() -> None:
        raise Cancelled("The analysis was cancelled.")

    started = time.monotonic()
    with pytest.raises(Cancelled):
        call_while_checking(lambda: time.sleep(3.0), cancel, interval_s=0.05)
    assert time.monotonic() - started < 1.0  # the cancel does not wait for the call to end


_PEAK_PROBE = """
import json, sys
from pathlib import Path
from forensics_core.detectors import get_detector
from forensics_core.evidence import load_evidence

detector, evidence = get_detector(sys.argv[1]), load_evidence(sys.argv[2])
def memory_kib(field):
    return next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith(field + ':'))
Path('/proc/self/clear_refs').write_text('5')  # peak (VmHWM) reset to the resident size now
before = memory_kib('VmRSS')
detector.run(evidence, device='cpu')
print(json.dumps({'growth': (memory_kib('VmHWM') - before) * 1024,
                  'estimate': detector.estimate_peak_bytes(evidence, detector.default_params())}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc peak-memory reset")
def test_copy_move_memory_estimate_covers_its_measured_peak(tmp_path: Path) -> None:
    """Peak memory growth of a run in a fresh process (as benchmarks/bench_memory_budget.py measures it)
    on a textured 1.2-megapixel picture holding a clone."""
    import json
    import subprocess
    import sys

    rng = np.random.default_rng(22)
    grey = _texture(rng.integers(0, 256, (960, 1280)).astype(np.uint8))
    rgb = np.stack([grey, np.roll(grey, 7, axis=1), np.roll(grey, 13, axis=0)], axis=-1)
    rgb[600:760, 800:1000] = rgb[100:260, 150:350]  # the clone
    image = write_png(tmp_path / "clone.png", rgb)
    probe = subprocess.run([sys.executable, "-c", _PEAK_PROBE, "copy-move", str(image)], capture_output=True,
                           text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    figures = json.loads(probe.stdout.strip().splitlines()[-1])
    assert figures["growth"] > 50 << 20  # the probe measured a real run
    assert figures["estimate"] >= figures["growth"], figures


def _texture(grey: np.ndarray) -> np.ndarray:
    """Texture with detail at several scales (what SIFT and the dense field match)."""
    import cv2

    return cv2.addWeighted(grey, 0.5, cv2.GaussianBlur(grey, (0, 0), 3), 0.5, 0)
