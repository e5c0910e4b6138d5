"""Fusion: one map from several detectors, combined by a model learned on synthetic forgeries.

Method (late fusion of tampering maps, after Fontani et al., "A framework for decision fusion in
image forensics based on Dempster-Shafer theory of evidence", IEEE TIFS 8(4), 2013, and Korus &
Huang, "Multi-scale analysis strategies in PRNU-based tampering localization", IEEE TIFS 12(4),
2017, who fuse candidate maps pixel by pixel): each member detector runs with its default
parameters (or its result for the same evidence, detector, parameters and weights is reused,
:mod:`forensics_core.result_cache`); at every pixel three features are taken from each member's
heatmap - its value, its local mean and its rank within the image
(:mod:`forensics_core.fusion.features`); a logistic regression learned by the training harness on
the members' maps of synthetic forgeries of the training photographs
(:mod:`forensics_core.training.recipes.fusion`) turns them into the probability that the pixel
was manipulated (:mod:`forensics_core.fusion.model`). The heatmap is that probability.

The image score combines the members' own calibrated verdicts rather than the fused map: a
weighted sum of their evidence, ``-log10`` of each member's false-alarm rate, with weights learned
on the training pictures (:mod:`forensics_core.fusion.image_score`, after Fisher's and Good's
combinations of significance tests). The members are not independent, so the sum is not read as
a p-value; it is calibrated like every detector's score (``tamper-workbench calibrate fusion``),
which accounts for the number of members and their dependence on authentic pictures.

The model is refused when a member's weights or version differ from those it was trained on
(stale), and a member the model was not trained with cannot be chosen. Choosing fewer members
than the model knows sets the left-out members' features to their training mean: they then add
nothing to the fused logit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from forensics_core.detectors import get_detector, register_detector
from forensics_core.detectors.base import Analysis, Detector, Parameter, ProgressReporter, Result
from forensics_core.errors import EvidenceError, ParameterError, WeightsError
from forensics_core.fusion.layout import FUSION_KEY, calibration_sha256, layout_from_entry, stale_members
from forensics_core.fusion.summary import MEMBER_MAP_PREFIX

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from forensics_core.evidence import Evidence
    from forensics_core.result_cache import ResultSource

def parse_members(text: str) -> list[str]:
    """The member ids of a comma-separated list (blanks ignored); ``ParameterError`` for an id that is
    not a detector, ``fusion`` itself, or a repeated id."""
    from forensics_core.detectors import list_detectors

    known = {detector.id for detector in list_detectors()} - {FusionDetector.id}
    members = [item.strip() for item in text.split(",") if item.strip()]
    for member in members:
        if member not in known:
            raise ParameterError(f"Parameter 'members': '{member}' is not a detector that fusion can combine; "
                                 f"known: {', '.join(sorted(known))}.")
    repeated = sorted({member for member in members if members.count(member) > 1})
    if repeated:
        raise ParameterError(f"Parameter 'members' names {', '.join(repeated)} more than once.")
    return members


@register_detector
class FusionDetector(Detector):
    """Fused probability map of several detectors (see the module docstring)."""

    id = "fusion"
    display_name = "Fusion of detectors"
    reference = ("Late fusion of tampering maps: Fontani et al., IEEE TIFS 8(4), 2013; Korus & Huang, "
                 "IEEE TIFS 12(4), 2017; logistic regression on per-pixel map features")
    version = "1.2"
    score_definition = "weighted-member-evidence"
    description = ("Runs several detectors (or reuses their results in the open case) and combines their "
                   "heatmaps pixel by pixel with a logistic regression learned on synthetic forgeries; shows "
                   "each detector's map and false-alarm rate beside the fused map.")
    limitations = (
        "The fused map only combines what its member detectors see: a manipulation that none of them "
        "responds to stays invisible.",
        "The combination was learned on synthetic forgeries (splices, copy-moves, removals, retouching, "
        "JPEG splices); forgeries made otherwise may be weighted wrongly.",
        "False positives that several members share (strong texture, saturated or flat areas, a picture "
        "re-compressed or resized as a whole) add up in the fused map.",
        "A member that cannot analyse the picture, or is left out, contributes nothing, while the model "
        "was trained with all its members present.",
        "Each pixel is judged from the member maps at and around it only, not from the scene's content.",
        "The image score weighs each member's calibrated evidence as learned on synthetic training pictures "
        "(weights in the fusion model): a member whose alarms were no commoner on forged than on authentic "
        "training pictures gets no weight, so its alarm alone does not make the picture suspicious.",
    )
    weights_keys = (FUSION_KEY,)
    parameters = (
        Parameter("members", str, "", "Detectors",
                  "Comma-separated detector ids to combine; empty = every detector the fusion model was "
                  "trained with. Only detectors the model knows can be chosen."),
    )
    #: Working set besides the largest member's, per member: its map (float32); plus one member's
    #: features and the logits (see :meth:`estimate_peak_bytes`).
    working_bytes_per_pixel = 4.0

    def __init__(self, model: Any = None) -> None:
        super().__init__(model)
        self._sources: list[ResultSource] = []
        self._layout: dict[str, Any] | None = None

    # ---- reuse ----------------------------------------------------------------------------
    def reuse_results(self, *sources: "ResultSource") -> "FusionDetector":
        """Look members' results up in ``sources`` (the open case's runs via
        :func:`~forensics_core.result_cache.index_results`, a :class:`~forensics_core.result_cache.ResultStore`)
        before running them; new member results are stored in every source that is a store."""
        self._sources.extend(sources)
        return self

    def _reused(self, key: str | None) -> Result | None:
        if key is None:
            return None
        for source in self._sources:
            found = source.get(key)
            if found is not None:
                return found
        return None

    def _keep(self, result: Result) -> None:
        from forensics_core.result_cache import ResultStore

        for source in self._sources:
            if isinstance(source, ResultStore):
                source.put(result)

    # ---- model and members ----------------------------------------------------------------
    def use_layout(self, layout: Mapping[str, Any]) -> "FusionDetector":
        """The member layout of an injected model (tests; the shipped model's comes from the manifest)."""
        self._layout = dict(layout)
        return self

    def layout(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The member layout of the model in use (``WeightsError`` when the manifest records none)."""
        from forensics_core.weights import manifest_entry

        if self._layout is not None:
            return self._layout
        chosen = self.choose_weights(params or {})
        entry = manifest_entry(FUSION_KEY, chosen.folder())
        if entry is None:
            raise WeightsError(f"{self.display_name} is not trained: no weights '{FUSION_KEY}' in the manifest.")
        try:
            return layout_from_entry(entry)
        except ValueError as exc:
            raise WeightsError(f"The weights of {self.display_name} cannot be used: {exc}.") from None

    def members(self, params: Mapping[str, Any]) -> list[str]:
        """The members a run with ``params`` combines, in the model's order."""
        known = self.layout(params)["members"]
        chosen = parse_members(params.get("members", "")) or list(known)
        foreign = [member for member in chosen if member not in known]
        if foreign:
            raise ParameterError(f"Parameter 'members': the fusion model was not trained with {', '.join(foreign)}; "
                                 f"it combines {', '.join(known)}.")
        return [member for member in known if member in chosen]

    def validate_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with ``params``; the member list is checked against the detectors (and
        against the model's members when the model is installed)."""
        values = super().validate_params(params)
        parse_members(values["members"])
        return values

    def build_model(self, states: "Mapping[str, dict[str, torch.Tensor]]") -> Any:
        """The logistic-regression model of :mod:`forensics_core.fusion.model`."""
        from forensics_core.fusion.model import build_fusion_model

        return build_fusion_model(states)

    def check_not_stale(self, layout: Mapping[str, Any], members: list[str]) -> None:
        """Refuse the model when a chosen member's weights, version or calibration differ from its
        training's."""
        from forensics_core.result_cache import expected_weights_sha256

        detectors = {member: get_detector(member) for member in members}
        stale = stale_members(layout, members,
                              {member: expected_weights_sha256(d, {}) for member, d in detectors.items()},
                              {member: d.version for member, d in detectors.items()},
                              {member: calibration_sha256(member) for member in members})
        if stale:
            raise WeightsError(
                f"The fusion model is stale: it was trained on other weights, another version or another "
                f"calibration of {', '.join(stale)}. Retrain it with 'tamper-workbench train fusion', or leave "
                f"{'this detector' if len(stale) == 1 else 'these detectors'} out (parameter 'members').")

    def estimate_peak_bytes(self, evidence: "Evidence", params: Mapping[str, Any]) -> int:
        """The largest member's working set plus the member maps, one member's features and the logits."""
        try:
            members = self.members(params)
        except (WeightsError, ParameterError):
            members = []
        largest = max((get_detector(m).estimate_peak_bytes(evidence, {}) for m in members), default=0)
        pixels = evidence.width * evidence.height
        per_pixel = self.working_bytes_per_pixel * max(len(members), 1) + 4.0 * (3 + 1 + 2)
        return int(largest + pixels * per_pixel + self.working_bytes_fixed)

    # ---- running --------------------------------------------------------------------------
    def _member_result(self, member: str, evidence: "Evidence", reporter: ProgressReporter,
                       device: "torch.device") -> tuple[Result | None, str]:
        """The member's result (None when it cannot analyse this picture) and how it was obtained."""
        from forensics_core.result_cache import key_for_run

        detector = get_detector(member)
        reused = self._reused(key_for_run(detector, evidence.sha256, {}))
        if reused is not None:
            return reused, "reused"
        try:
            result = detector.run(evidence, None, progress=lambda f, m: reporter.update(f, f"{member}: {m}"),
                                  device=str(device))
        except EvidenceError as exc:
            return None, f"not applicable: {exc}"
        self._keep(result)
        return result, "run"

    def image_scores(self, rates: Sequence[Mapping[str, float | None]],
                     params: Mapping[str, Any] | None = None) -> list[float]:
        """The image score of each picture's member false-alarm rates (member id -> rate, None or
        absent when a member has none): the logit of the model's image regression."""
        from forensics_core.fusion.image_score import image_score

        model, _ = self.load_model(params)
        members = self.layout(params)["members"]
        return [image_score(model.image_model(), picture, members) for picture in rates]

    def calibration_scores(self, results: Sequence[Result], photos: Sequence[str]) -> list[float]:
        """The image score of each reference picture with its members' rates read from the other
        photographs' pictures (:func:`~forensics_core.fusion.image_score.leave_photograph_out_rates`),
        so that the calibration sees authentic pictures' scores as a new picture gets them."""
        from forensics_core.fusion.image_score import leave_photograph_out_rates

        member_scores = [{member: float(record["score"]) for member, record in result.extra["members"].items()
                          if record.get("score") is not None and record.get("false_alarm_rate") is not None}
                         for result in results]
        return self.image_scores(leave_photograph_out_rates(member_scores, photos))

    def analyse(self, evidence: "Evidence", params: Mapping[str, Any], reporter: ProgressReporter,
                device: "torch.device") -> Analysis:
        """Members' results (reused or run), then the fused probability map; the score is the
        weighted evidence of the members' false-alarm rates (see the module docstring)."""
        from forensics_core.calibration.apply import apply_calibration
        from forensics_core.fusion.image_score import image_score
        from forensics_core.fusion.model import fuse

        model, hashes = self.load_model(params)
        layout = self.layout(params)
        members = self.members(params)
        self.check_not_stale(layout, members)
        results: dict[str, Result | None] = {}
        obtained: dict[str, str] = {}
        for index, member in enumerate(members):
            part = reporter.scaled(0.9 * index / len(members), 0.9 * (index + 1) / len(members))
            part.update(0.0, f"{member} ({index + 1} of {len(members)})", force=True)
            results[member], obtained[member] = self._member_result(member, evidence, part, device)
        maps = {member: result.heatmap for member, result in results.items() if result is not None}
        if not maps:
            raise EvidenceError("None of the chosen detectors can analyse this picture: "
                                + "; ".join(f"{member}: {how}" for member, how in obtained.items()))
        fused = fuse(model, maps, layout["members"],
                     lambda index, member: reporter.update(0.9 + 0.1 * index / len(layout["members"]),
                                                           f"Fusing: features of {member}"))
        extra: dict[str, Any] = {"members": {}, "model_members": list(layout["members"])}
        for member in members:
            result = results[member]
            if result is None:
                extra["members"][member] = {"obtained": obtained[member], "score": None, "false_alarm_rate": None}
                continue
            calibrated = apply_calibration(result)
            extra["members"][member] = {"obtained": obtained[member], "score": float(calibrated.score),
                                        "false_alarm_rate": calibrated.false_alarm_rate,
                                        "calibration": calibrated.calibration.get("status", "not calibrated")}
        extra["reused"] = [member for member in members if obtained[member] == "reused"]
        rates = {member: record["false_alarm_rate"] for member, record in extra["members"].items()}
        score = image_score(model.image_model(), rates, layout["members"])
        return Analysis(heatmap=fused, score=score, extra=extra,
                        extra_maps={f"{MEMBER_MAP_PREFIX}{member}": heatmap for member, heatmap in maps.items()},
                        weights_sha256=hashes)

