"""The built wheel installs into a fresh virtual environment and works from any folder.

The sdist and the wheel are built from this checkout (the wheel from the unpacked sdist, as a user
building from source gets it), installed with the pinned CPU torch into a new virtual environment
without the system's or the developer environment's packages, and run from a folder outside the
checkout: the weights and the sample must come from the installed package data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from forensics_core.detectors import DEFAULT_DETECTOR, get_detector
from forensics_core.evidence import load_evidence
from forensics_core.shipped import sample_image
from forensics_core.weights import read_manifest, weights_dir

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _run(command: list[str | Path], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run ``command``; on failure show its output in the assertion message."""
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, command))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _clean_env() -> dict[str, str]:
    """The environment without anything that would point the installed program at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TAMPER_WEIGHTS_DIR", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Iterator[dict[str, Path]]:
    """sdist and wheel built from the checkout, and a fresh venv with the wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    # --no-isolation: build with this environment's setuptools instead of downloading one.
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, ROOT], cwd=work, timeout=600)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=work, timeout=300)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    # torch pinned to the CPU build of constraints.txt in the same command: no CUDA build is fetched.
    _run([bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-compile", "-c", ROOT / "constraints.txt",
          "torch==2.13.0", wheel], cwd=work, timeout=1200, env=_clean_env())
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    yield {"wheel": wheel, "sdist": sdist, "bin": bin_dir, "elsewhere": elsewhere}
    shutil.rmtree(venv, ignore_errors=True)  # over a gigabyte with torch; pytest keeps old temp folders


def test_wheel_and_sdist_carry_the_weights_and_resources(built):
    manifest = read_manifest(weights_dir())
    sample_relative = sample_image().relative_to(ROOT / "resources").as_posix()
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
        prefix = "forensics_core/_shipped/"
        assert prefix + "weights/manifest.json" in names
        assert prefix + "resources/" + sample_relative in names
        for key, entry in manifest["models"].items():
            data = wheel.read(prefix + "weights/" + entry["file"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{key} differs in the wheel"
    with tarfile.open(built["sdist"]) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        members = set(sdist.getnames())
    assert f"{top}/weights/manifest.json" in members and f"{top}/resources/{sample_relative}" in members


def test_installed_program_runs_from_the_installed_package_not_the_checkout(built):
    code = "import forensics_core, forensics_core.shipped as s; print(forensics_core.__file__); print(s.sample_image())"
    module_file, sample = _run([built["bin"] / "python", "-c", code], built["elsewhere"], 300,
                               _clean_env()).splitlines()
    venv = built["bin"].parent
    assert Path(module_file).is_relative_to(venv), module_file
    assert Path(sample).is_relative_to(venv) and Path(sample).is_file(), sample


def test_installed_command_lists_detectors_like_the_source(built):
    command = built["bin"] / "tamper-workbench"
    listed = json.loads(_run([command, "detectors", "--json"], built["elsewhere"], 300, _clean_env()))
    # The source install's own command (a fresh process: this one's registry order depends on
    # which detector modules earlier tests imported first).
    source_listing = json.loads(_run([sys.executable, "-m", "forensics_core", "detectors", "--json"], ROOT, 300))
    source = [(d["id"], d["trained"]) for d in source_listing]
    assert [(d["id"], d["trained"]) for d in listed] == source
    assert any(trained for _, trained in source), "no trained detector: the weights were not found"
    text = _run([command, "detectors"], built["elsewhere"], 300, _clean_env())
    assert all(d["id"] in text for d in listed)


def test_installed_command_analyzes_the_sample_like_the_source(built):
    code = "import forensics_core.shipped as s; print(s.sample_image())"
    sample = _run([built["bin"] / "python", "-c", code], built["elsewhere"], 300, _clean_env()).strip()
    out = built["elsewhere"] / "result"
    _run([built["bin"] / "tamper-workbench", "analyze", sample, "--out", out, "--device", "cpu", "--quiet"],
         built["elsewhere"], 600, _clean_env())
    installed = np.load(out / "heatmap.npy", allow_pickle=False)
    record = json.loads((out / "result.json").read_text())
    source = get_detector(DEFAULT_DETECTOR).run(load_evidence(sample_image()), {}, device="cpu")
    assert installed.shape == source.heatmap.shape
    assert float(np.max(np.abs(installed - source.heatmap))) <= 1e-5
    assert record["result"]["provenance"]["weights_sha256"] == source.provenance["weights_sha256"]
