"""The detector contract: declared parameters, the ``Result`` of a run, progress and cancel.

Every detector subclasses :class:`Detector`, declares its identity and parameters as class
attributes, and implements :meth:`Detector.analyse`. The public entry point is
:meth:`Detector.run`, which validates parameters, picks the device, times the run, applies the
default threshold and fills in provenance, so that detectors only compute their heatmap.
"""

from __future__ import annotations

import math
import platform
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from forensics_core import __version__
from forensics_core.errors import Cancelled, ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    import torch

    from forensics_core.evidence import Evidence
    from forensics_core.weights import WeightsProblem

ProgressCallback = Callable[[float, str], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class Parameter:
    """One typed, bounded detector parameter, declared so that a GUI can build its form.

    ``kind`` is one of ``int``, ``float``, ``bool`` or ``str``; a ``str`` parameter with
    ``choices`` is a drop-down list.
    """

    name: str
    kind: type
    default: Any
    label: str = ""
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise ``ParameterError``."""
        try:
            if self.kind is bool:
                if isinstance(value, str):
                    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError(value)
                    value = value.lower() in ("true", "1", "yes")
                converted: Any = bool(value)
            elif self.kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError(value)
                converted = int(value)
            else:
                converted = self.kind(value)
        except (TypeError, ValueError, OverflowError):
            raise ParameterError(
                f"Parameter '{self.name}' expects {self.kind.__name__}, got {value!r}."
            ) from None
        if self.kind is float and not math.isfinite(converted):
            raise ParameterError(
                f"Parameter '{self.name}' must be a finite number; got {value!r}."
            )
        if self.choices and converted not in self.choices:
            raise ParameterError(
                f"Parameter '{self.name}' must be one of {', '.join(self.choices)}; got {converted!r}."
            )
        if self.minimum is not None and converted < self.minimum:
            raise ParameterError(f"Parameter '{self.name}' must be >= {self.minimum}; got {converted}.")
        if self.maximum is not None and converted > self.maximum:
            raise ParameterError(f"Parameter '{self.name}' must be <= {self.maximum}; got {converted}.")
        return converted

    def describe(self) -> dict[str, Any]:
        """JSON-ready description of the parameter."""
        return {
            "name": self.name,
            "type": self.kind.__name__,
            "default": self.default,
            "label": self.label or self.name,
            "help": self.help,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "choices": list(self.choices),
        }


@dataclass(frozen=True)
class ClassMapSummary:
    """How one per-class map of a result was post-processed (the resampling detector's six classes).

    ``map_name`` names the map in ``Result.extra_maps``; ``counts`` and ``edges`` are its
    histogram (``len(edges) == len(counts) + 1``), computed at full resolution;
    ``otsu_threshold`` is Otsu's threshold of the map, ``bimodality`` the detector's bimodality
    figure and ``kept`` whether the map passed the bimodality test and was segmented;
    ``confidence`` is the kept map's localisation confidence (None when it was not segmented)
    and ``mean_probability`` the map's mean before filtering.
    """

    map_name: str
    counts: tuple[int, ...]
    edges: tuple[float, ...]
    otsu_threshold: float
    bimodality: float
    kept: bool
    confidence: float | None
    mean_probability: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (the layout of ``result.json``'s ``per_class`` entries)."""
        return {
            "map": self.map_name,
            "histogram": {"counts": list(self.counts), "edges": list(self.edges)},
            "otsu_threshold": self.otsu_threshold,
            "bimodality": self.bimodality,
            "kept": self.kept,
            "confidence": self.confidence,
            "mean_probability": self.mean_probability,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ClassMapSummary":
        """The summary written by :meth:`to_json`; ``ValueError`` names what is malformed."""
        try:
            counts = tuple(int(c) for c in data["histogram"]["counts"])
            edges = tuple(float(e) for e in data["histogram"]["edges"])
            confidence = data["confidence"]
            summary = cls(map_name=str(data["map"]), counts=counts, edges=edges,
                          otsu_threshold=float(data["otsu_threshold"]), bimodality=float(data["bimodality"]),
                          kept=bool(data["kept"]), confidence=None if confidence is None else float(confidence),
                          mean_probability=float(data["mean_probability"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed per-class summary ({type(exc).__name__}: {exc})") from None
        if len(edges) != len(counts) + 1:
            raise ValueError("malformed per-class summary: the histogram needs one more edge than counts")
        return summary


@dataclass
class Result:
    """What a detector run produces.

    ``heatmap`` is float32, HxW at the image's full resolution, in [0, 1], 1 = manipulated.
    ``extra_maps`` holds further named HxW maps (for example one per resampling class);
    ``per_class`` the post-processing of per-class maps, {class name: summary}, in class order
    (empty for detectors without classes); ``extra`` holds further JSON-ready figures.
    ``false_alarm_rate`` is the share of authentic reference images scoring at least ``score``
    (None when not calibrated) and ``calibration`` the calibration it was compared with, or why
    none was (:func:`forensics_core.calibration.apply.apply_calibration`).
    """

    detector_id: str
    heatmap: np.ndarray
    score: float
    threshold: float
    mask: np.ndarray
    extra_maps: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    provenance: dict[str, Any] = field(default_factory=dict)
    per_class: dict[str, ClassMapSummary] = field(default_factory=dict)
    false_alarm_rate: float | None = None
    calibration: dict[str, Any] = field(default_factory=dict)

    def with_threshold(self, threshold: float) -> "Result":
        """A copy whose mask is ``heatmap >= threshold`` (the arrays other than the mask are shared)."""
        return Result(
            detector_id=self.detector_id,
            heatmap=self.heatmap,
            score=self.score,
            threshold=float(threshold),
            mask=self.heatmap >= threshold,
            extra_maps=self.extra_maps,
            extra=self.extra,
            timings=self.timings,
            device=self.device,
            provenance=self.provenance,
            per_class=self.per_class,
            false_alarm_rate=self.false_alarm_rate,
            calibration=self.calibration,
        )

    def summary(self) -> dict[str, Any]:
        """Everything but the arrays, JSON-ready."""
        height, width = self.heatmap.shape
        return {
            "detector": self.detector_id,
            "score": float(self.score),
            "threshold": float(self.threshold),
            "height": int(height),
            "width": int(width),
            "masked_fraction": float(self.mask.mean()) if self.mask.size else 0.0,
            "extra_maps": sorted(self.extra_maps),
            "extra": self.extra,
            "per_class": {name: summary.to_json() for name, summary in self.per_class.items()},
            "timings_s": self.timings,
            "device": self.device,
            "provenance": self.provenance,
            "false_alarm_rate": self.false_alarm_rate,
            "calibration": self.calibration,
        }


@dataclass(frozen=True)
class Analysis:
    """What :meth:`Detector.analyse` returns: the heatmap and what the detector knows about it.

    ``threshold`` is ``None`` when the detector has no better default than Otsu on the heatmap;
    ``mask`` is ``None`` when the mask is simply ``heatmap >= threshold``.
    """

    heatmap: np.ndarray
    score: float
    threshold: float | None = None
    mask: np.ndarray | None = None
    extra_maps: Mapping[str, np.ndarray] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    weights_sha256: Mapping[str, str] = field(default_factory=dict)
    per_class: Mapping[str, ClassMapSummary] = field(default_factory=dict)


class ProgressReporter:
    """Calls ``progress`` and checks ``cancel`` for a detector, throttled to a few times a second.

    A detector calls :meth:`update` inside every loop that may last long; each call raises
    :class:`Cancelled` as soon as the user asked to stop.
    """

    def __init__(
        self,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
        min_interval_s: float = 0.2,
    ) -> None:
        self._progress = progress
        self._cancel = cancel
        self._min_interval_s = min_interval_s
        self._last = -float("inf")

    def update(self, fraction: float, message: str = "", force: bool = False) -> None:
        """Report ``fraction`` (0..1) done; raise :class:`Cancelled` if the user asked to stop."""
        if self._cancel is not None and self._cancel():
            raise Cancelled("The analysis was cancelled.")
        now = time.monotonic()
        if self._progress is not None and (force or now - self._last >= self._min_interval_s):
            self._last = now
            self._progress(float(min(max(fraction, 0.0), 1.0)), message)

    def scaled(self, start: float, stop: float) -> "ProgressReporter":
        """A reporter that maps its own 0..1 onto ``start..stop`` of this one."""
        parent = self

        class _Scaled(ProgressReporter):
            def update(self, fraction: float, message: str = "", force: bool = False) -> None:
                parent.update(start + (stop - start) * fraction, message, force)

        return _Scaled()


def library_versions() -> dict[str, str]:
    """Versions of the libraries that can change a result, for provenance."""
    import importlib.metadata as md

    versions = {"python": platform.python_version(), "tamper-workbench": __version__}
    for name in ("numpy", "scipy", "torch", "opencv-python-headless", "scikit-image", "pillow"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return versions


@dataclass(frozen=True)
class WeightsSet:
    """Weights a detector can run with: manifest keys in the shipped or the user's weights folder."""

    name: str
    keys: tuple[str, ...]
    #: True for weights the user imported (:func:`forensics_core.weights.user_weights_dir`).
    user: bool = False

    def folder(self) -> "Path":
        """The weights folder holding this set's manifest."""
        from forensics_core.weights import user_weights_dir, weights_dir

        return user_weights_dir() if self.user else weights_dir()

    def problem(self) -> "WeightsProblem | None":
        """The first reason one of the set's files cannot be used, or None when all can."""
        from forensics_core.weights import weights_problem

        folder = self.folder()
        for key in self.keys:
            problem = weights_problem(key, folder)
            if problem is not None:
                return problem
        return None


def _first_detail(error: Exception) -> str:
    """The first specific line of ``error`` (PyTorch lists one mismatch a line after a heading), and
    how many more there are."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    details = lines[1:] or lines
    return details[0].rstrip(".") + (f" (and {len(details) - 1} more)" if len(details) > 1 else "")


class Detector(ABC):
    """Base class of every detector in the registry (see :mod:`forensics_core.detectors`).

    Learned detectors declare the manifest keys they need (``weights_keys``) and implement
    :meth:`build_model`; the base class checks the weights (:meth:`is_trained`, each file hashed
    once per process), loads them verified (:meth:`load_model`) and words the status and the
    refusal to run without them.
    """

    id: str = ""
    display_name: str = ""
    reference: str = ""
    version: str = "0"
    description: str = ""
    #: What the method cannot see and its known false positives, one sentence each, for the GUI
    #: and the report.
    limitations: tuple[str, ...] = ()
    parameters: Sequence[Parameter] = ()
    #: A method that has no learned weights at all (hand-crafted) is always ready.
    needs_weights: bool = True
    #: True for pipeline-proving baselines that are not one of the seed methods.
    is_baseline: bool = False
    #: Manifest keys of the shipped weights the model is built from (all are needed).
    weights_keys: tuple[str, ...] = ()
    #: Peak working set of a run per pixel of the picture, in bytes (see :mod:`forensics_core.memory`).
    #: The default is generous (most measured detectors need 6 to 76; benchmarks/bench_memory_budget.py);
    #: detectors that need more (srm-cnn, copy-move), or measured less, declare their own.
    working_bytes_per_pixel: float = 96.0
    #: Working set of a run that does not grow with the picture (networks, buffers), in bytes.
    working_bytes_fixed: int = 256 << 20
    #: How ``Result.score`` is defined: ``"region-contrast"``, the score shared by detectors whose
    #: paper defines no image statistic (:mod:`forensics_core.calibration.image_score`, computed by
    #: :meth:`run` from the heatmap), or the name of the statistic the detector's paper defines
    #: (then ``Analysis.score`` is kept).
    score_definition: str = "region-contrast"
    #: Whether the calibration's default threshold replaces the detector's own (False where the
    #: mask is the decision of the paper's own test).
    calibrated_threshold: bool = True

    #: A model given to the constructor instead of the stored weights (tests and benchmarks only).
    _injected_model: Any = None

    def __init__(self, model: Any = None) -> None:
        """``model`` (what :meth:`build_model` returns) replaces the stored weights, for tests and
        benchmarks only."""
        self._injected_model = model

    # ---- weights --------------------------------------------------------------------------
    def weights_sets(self) -> tuple[WeightsSet, ...]:
        """The weights this detector can run with, preferred first (default: the shipped keys)."""
        return (WeightsSet("shipped", self.weights_keys),) if self.needs_weights else ()

    def choose_weights(self, params: Mapping[str, Any]) -> WeightsSet:
        """The weights set a run with ``params`` uses (default: the first)."""
        return self.weights_sets()[0]

    def build_model(self, states: "Mapping[str, dict[str, torch.Tensor]]") -> Any:
        """The model built from the verified state dicts of a weights set, {manifest key: state}."""
        raise NotImplementedError(f"{type(self).__name__} does not build a model")

    def load_model(self, params: Mapping[str, Any] | None = None) -> "tuple[Any, dict[str, str]]":
        """The model for ``params`` and the SHA-256 of each weights file (empty for an injected model).

        Raises :class:`~forensics_core.errors.WeightsError` saying what is wrong when the weights
        are missing, unusable, or do not fit the model: a detector never runs with random weights.
        """
        from forensics_core.errors import WeightsError
        from forensics_core.weights import load_weights

        if self._injected_model is not None:
            return self._injected_model, {}
        chosen = self.choose_weights(params or {})
        problem = chosen.problem()
        if problem is not None:
            raise WeightsError(self._refusal(problem))
        states, hashes = {}, {}
        for key in chosen.keys:
            states[key], hashes[key] = load_weights(key, chosen.folder())
        try:
            return self.build_model(states), hashes
        except (RuntimeError, KeyError, ValueError) as exc:
            raise WeightsError(
                f"The weights {', '.join(chosen.keys)} do not fit the {self.display_name} model (tensor "
                f"names or shapes differ: trained for another version of it?): {_first_detail(exc)}") from None

    def _refusal(self, problem: "WeightsProblem") -> str:
        """Why the detector cannot run, and what to do."""
        if problem.untrained:
            return (f"{self.display_name} is not trained: {problem.message}. Train it with "
                    f"'tamper-workbench train {self.id}' or import trained weights; it never runs with "
                    "random weights.")
        return f"The weights of {self.display_name} cannot be used: {problem.message}."

    # ---- declared state -------------------------------------------------------------------
    def calibration_scores(self, results: Sequence[Result], photos: Sequence[str]) -> list[float]:
        """The scores a calibration records for ``results`` on authentic reference pictures (made from
        the photographs ``photos``, in the same order): their image scores. A detector whose score
        depends on other calibrations overrides this (``fusion``)."""
        return [float(result.score) for result in results]

    def is_trained(self) -> bool:
        """True when the detector can run: hand-crafted, given a model, or one weights set is usable.

        Each weights file is hashed once per process for a given size and modification time.
        """
        if not self.needs_weights or self._injected_model is not None:
            return True
        return any(weights.problem() is None for weights in self.weights_sets())

    def weights_problem(self) -> "WeightsProblem | None":
        """Why the detector cannot run for want of weights (of its preferred set); None when it can."""
        if self.is_trained():
            return None
        return self.weights_sets()[0].problem()

    def training_status(self) -> str:
        """One line for people: trained (how far), hand-crafted, or untrained or broken and why."""
        from forensics_core.weights import describe_training

        if not self.needs_weights:
            return "hand-crafted (no learned weights)"
        if self._injected_model is not None:
            return "trained (model given in code)"
        problem = self.weights_problem()
        if problem is not None:
            if problem.untrained:
                return f"NOT TRAINED: {problem.message} (train with 'tamper-workbench train {self.id}')"
            return f"WEIGHTS UNUSABLE: {problem.message}"
        sets = self.weights_sets()
        usable = [weights for weights in sets if weights.problem() is None]
        text = f"trained: {describe_training(usable[0].keys, usable[0].folder())}"
        return text + (f" (weights: {', '.join(w.name for w in usable)})" if len(sets) > 1 else "")

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for ``tamper-workbench detectors`` and the GUI."""
        return {
            "id": self.id,
            "name": self.display_name,
            "reference": self.reference,
            "version": self.version,
            "description": self.description,
            "limitations": list(self.limitations),
            "baseline": self.is_baseline,
            "trained": self.is_trained(),
            "status": self.training_status(),
            "score_definition": self.score_definition,
            "parameters": [p.describe() for p in self.parameters],
        }

    def default_params(self) -> dict[str, Any]:
        """The declared defaults of every parameter."""
        return {p.name: p.default for p in self.parameters}

    def validate_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with ``params``, each validated; unknown names are refused."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(params or {}) - set(known))
        if unknown:
            raise ParameterError(
                f"Detector '{self.id}' has no parameter {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(known) or 'none'}."
            )
        values = self.default_params()
        for name, value in (params or {}).items():
            values[name] = known[name].validate(value)
        return values

    # ---- running --------------------------------------------------------------------------
    @abstractmethod
    def analyse(
        self,
        evidence: "Evidence",
        params: Mapping[str, Any],
        reporter: ProgressReporter,
        device: "torch.device",
    ) -> Analysis:
        """Compute the heatmap of ``evidence``. Call ``reporter.update`` at least every second."""

    def estimate_peak_bytes(self, evidence: "Evidence", params: Mapping[str, Any]) -> int:
        """Estimated peak memory of a run on ``evidence``: per-pixel working set plus a fixed part.

        Detectors whose working set depends on their parameters override this.
        """
        return int(self.working_bytes_per_pixel * evidence.width * evidence.height + self.working_bytes_fixed)

    def run(
        self,
        evidence: "Evidence",
        params: Mapping[str, Any] | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
        device: str = "auto",
        max_memory: int | None = None,
    ) -> Result:
        """Run the detector on ``evidence`` and return a full :class:`Result`.

        ``progress(fraction, message)`` is called at least once a second; ``cancel()`` is checked
        as often and, when it returns True, the run stops with :class:`Cancelled`. A run whose
        :meth:`estimate_peak_bytes` exceeds ``max_memory`` bytes (default: a share of this
        computer's memory) is refused before it starts (:class:`~forensics_core.memory.MemoryBudgetError`).
        """
        from forensics_core.calibration.apply import apply_calibration
        from forensics_core.calibration.image_score import REGION_CONTRAST_SCORE, region_contrast_score
        from forensics_core.device import resolve_device
        from forensics_core.memory import check_budget
        from forensics_core.postprocess import otsu_threshold

        values = self.validate_params(params)
        check_budget(f"{self.display_name} on this {evidence.width} x {evidence.height} picture",
                     self.estimate_peak_bytes(evidence, values), max_memory)
        torch_device = resolve_device(device)
        reporter = ProgressReporter(progress, cancel)
        reporter.update(0.0, f"Starting {self.display_name} on {torch_device.type}", force=True)
        started = time.perf_counter()
        analysis = self.analyse(evidence, values, reporter, torch_device)
        elapsed = time.perf_counter() - started
        # Each whole-image step below takes up to a second on a 20-megapixel picture: check cancel between them.
        heatmap = np.nan_to_num(analysis.heatmap.astype(np.float32, copy=False))
        reporter.update(1.0, "Checking the heatmap")
        heatmap = np.clip(heatmap, 0.0, 1.0)
        if heatmap.shape != (evidence.height, evidence.width):
            raise RuntimeError(
                f"{self.id} produced a {heatmap.shape} heatmap for a "
                f"{evidence.height}x{evidence.width} image"
            )
        if not math.isfinite(float(analysis.score)):
            raise RuntimeError(f"{self.id} produced a non-finite score ({analysis.score})")
        reporter.update(1.0, "Thresholding the heatmap")
        threshold = analysis.threshold if analysis.threshold is not None else otsu_threshold(
            heatmap, on_chunk=lambda: reporter.update(1.0, "Thresholding the heatmap"))
        reporter.update(1.0, "Thresholding the heatmap")
        mask = analysis.mask if analysis.mask is not None else heatmap >= threshold
        reporter.update(1.0, "Scoring the heatmap")
        score = region_contrast_score(heatmap) if self.score_definition == REGION_CONTRAST_SCORE else analysis.score
        reporter.update(1.0, "Done", force=True)
        return apply_calibration(Result(
            detector_id=self.id,
            heatmap=heatmap,
            score=float(score),
            threshold=float(threshold),
            mask=mask.astype(bool, copy=False),
            extra_maps=dict(analysis.extra_maps),
            extra=dict(analysis.extra),
            per_class=dict(analysis.per_class),
            timings={"analysis": elapsed},
            device=str(torch_device),
            provenance={
                "detector": self.id,
                "detector_name": self.display_name,
                "detector_version": self.version,
                "reference": self.reference,
                "baseline": self.is_baseline,
                "trained": self.is_trained(),
                "weights_sha256": dict(analysis.weights_sha256),
                "parameters": values,
                "libraries": library_versions(),
                "evidence_sha256": evidence.sha256,
                "score_definition": self.score_definition,
            },
        ))


class SingleModelDetector(Detector):
    """A detector with one learned network under one manifest key, built by ``model_class()``."""

    model_class: type = object

    def build_model(self, states: "Mapping[str, dict[str, torch.Tensor]]") -> "torch.nn.Module":
        """``model_class()`` loaded (strictly) from the state of the only weights key."""
        (state,) = states.values()
        model = self.model_class()
        model.load_state_dict(state)
        return model
