"""The fusion detector: features, model round trip, fusion of disagreeing members, reuse, cancel,
stale models (issue 20, part 2)."""

from __future__ import annotations

import numpy as np
import pytest

from forensics_core import metrics
from forensics_core.detectors import get_detector
from forensics_core.detectors.base import Result, library_versions
from forensics_core.errors import Cancelled, ParameterError, WeightsError
from forensics_core.evidence import load_evidence
from forensics_core.fusion.image_score import L2_GRID, choose_l2, fit_logistic
from forensics_core.fusion.features import LOCAL_WINDOW, feature_names, feature_stack, local_mean, rank_within_image
from forensics_core.fusion.layout import FUSION_KEY
from forensics_core.fusion.training_data import balanced_pixels
from forensics_core.result_cache import index_results, key_for_run, result_key
from tests.planted import noisy_image_with_planted_region, write_png

#: Hand-crafted members (no weights files), so that a test weights folder needs only the fusion model.
MEMBERS = ("noise-baseline", "ela")


# ---- features -------------------------------------------------------------------------------
def test_rank_within_image_known_answer():
    ranks = rank_within_image(np.array([[0.0, 1.0], [1.0, 2.0]], np.float32))
    # 0-based mean ranks 0, 1.5, 1.5, 3 over n - 1 = 3
    np.testing.assert_allclose(ranks, [[0.0, 0.5], [0.5, 1.0]])
    np.testing.assert_allclose(rank_within_image(np.full((3, 4), 0.7, np.float32)), 0.5)
    np.testing.assert_allclose(rank_within_image(np.array([[0.2]], np.float32)), 0.5)


def test_local_mean_known_answer():
    spike = np.zeros((61, 61), np.float32)
    spike[30, 30] = 1.0
    mean = local_mean(spike)
    assert mean[30, 30] == pytest.approx(1.0 / LOCAL_WINDOW ** 2)
    assert mean[30, 30 + LOCAL_WINDOW // 2] == pytest.approx(1.0 / LOCAL_WINDOW ** 2)
    assert mean[30, 30 + LOCAL_WINDOW // 2 + 1] == 0.0
    np.testing.assert_allclose(local_mean(np.full((40, 50), 0.3, np.float32)), 0.3, rtol=1e-6)
    with pytest.raises(ValueError):
        local_mean(spike, window=4)


def test_feature_stack_layout():
    maps = {"a": np.zeros((8, 9), np.float32), "b": np.ones((8, 9), np.float32)}
    stack = feature_stack(maps, ["b", "a"])
    assert stack.shape == (8, 9, 6)
    assert feature_names(["b", "a"]) == ["b:map", "b:local", "b:rank", "a:map", "a:local", "a:rank"]
    np.testing.assert_allclose(stack[..., 0], 1.0)
    np.testing.assert_allclose(stack[..., 3], 0.0)
    with pytest.raises(ValueError, match="shape"):
        feature_stack({"a": np.zeros((8, 9)), "b": np.zeros((9, 8))}, ["a", "b"])


def test_balanced_pixels_draws_both_classes_equally():
    features = np.arange(100 * 3, dtype=np.float32).reshape(10, 10, 3)
    truth = np.zeros((10, 10), bool)
    truth[:2] = True  # 20 manipulated pixels
    rows, labels = balanced_pixels(features, truth, 15, np.random.default_rng(0))
    assert rows.shape == (30, 3) and labels.sum() == 15
    rows, labels = balanced_pixels(features, truth, 50, np.random.default_rng(0))
    assert labels.sum() == 20 and (labels == 0).sum() == 50


# ---- a fusion model trained by the harness on synthetic member maps --------------------------
def _planted_maps(rng: np.random.Generator, shape=(64, 64)):
    """Member maps of one synthetic picture: ``noise-baseline`` marks the manipulated square (and
    some noise), ``ela`` marks another square (a false alarm) - the members disagree."""
    truth = np.zeros(shape, bool)
    top, left = (int(v) for v in rng.integers(0, 32, 2))
    truth[top:top + 24, left:left + 24] = True
    informative = np.clip(0.2 + 0.5 * truth + rng.normal(0, 0.15, shape), 0, 1).astype(np.float32)
    decoy = np.zeros(shape, np.float32)
    dtop, dleft = (int(v) for v in rng.integers(0, 32, 2))
    decoy[dtop:dtop + 24, dleft:dleft + 24] = 0.9
    decoy = np.clip(decoy + rng.normal(0, 0.15, shape), 0, 1).astype(np.float32)
    return {"noise-baseline": informative, "ela": decoy}, truth


@pytest.fixture(scope="module")
def trained_weights(tmp_path_factory):
    """A fusion model over :data:`MEMBERS` trained by the shared harness, in its own weights folder."""
    import torch

    from forensics_core.training.harness import train
    from forensics_core.training.recipes.fusion import FusionRecipe

    class SyntheticRows(FusionRecipe):
        def _pixel_rows(self, config, which):
            rng = np.random.default_rng(0 if which == "train" else 1)
            rows, labels = [], []
            for _ in range(12):
                maps, truth = _planted_maps(rng)
                picked = balanced_pixels(feature_stack(maps, MEMBERS), truth, 200, rng)
                rows.append(picked[0])
                labels.append(picked[1])
            return np.concatenate(rows), np.concatenate(labels)

        def _image_model(self, config):
            # pictures whose informative member is far rarer than authentic ones are the forged ones
            rng = np.random.default_rng(2)
            labels = np.repeat([0, 1], 40)
            evidence = np.column_stack([rng.uniform(0, 0.5, 80) + 1.2 * labels, rng.uniform(0, 2, 80)])
            l2, cv_auc = choose_l2(evidence, labels)
            return {"model": fit_logistic(evidence, labels, l2), "l2": l2, "cv_auc": cv_auc, "pictures": 80,
                    "forged": 40}

    folder = tmp_path_factory.mktemp("fusion-weights")
    mp = pytest.MonkeyPatch()
    mp.setenv("TAMPER_WEIGHTS_DIR", str(folder))
    recipe = SyntheticRows()
    config = recipe.profiles["cpu"].updated(steps=150, batch_size=512, lr=0.05, val_every=150, checkpoint_every=150,
                                            extra={**recipe.profiles["cpu"].extra, "members": list(MEMBERS)})
    threads = torch.get_num_threads()
    outcome = train(recipe, config, torch.device("cpu"), tmp_path_factory.mktemp("fusion-run"), folder,
                    show_progress=False)
    torch.set_num_threads(threads)
    yield folder, outcome
    mp.undo()


@pytest.fixture
def fusion_weights(trained_weights, monkeypatch):
    folder, outcome = trained_weights
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(folder))
    return folder, outcome


def test_harness_exports_the_model_with_its_member_layout(fusion_weights):
    from safetensors.torch import load_file

    from forensics_core.weights import manifest_entry

    folder, outcome = fusion_weights
    assert outcome.final_validation["auc"] > 0.9
    entry = manifest_entry(FUSION_KEY, folder)
    layout = entry["training"]["data"]["layout"]
    assert layout["members"] == list(MEMBERS)
    assert layout["member_weights_sha256"] == {"noise-baseline": {}, "ela": {}}
    assert layout["member_versions"] == {m: get_detector(m).version for m in MEMBERS}
    assert layout["features"] == feature_names(MEMBERS)
    tensors = load_file(folder / entry["file"])
    assert set(tensors) == {"linear.weight", "linear.bias", "mean", "std", "image_mean", "image_weight", "image_bias"}
    assert entry["training"]["data"]["image_score"]["l2"] in L2_GRID
    # round trip: the detector's model is the exported one, tensor for tensor
    model, hashes = get_detector("fusion").load_model({})
    assert hashes == {FUSION_KEY: entry["sha256"]}
    for name, tensor in model.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), tensors[name].numpy())
    # the informative member outweighs the decoy, in the pixel model and in the image score
    weight = model.linear.weight.detach().numpy().ravel()
    assert weight[:3].sum() > abs(weight[3:]).sum()
    image_weight = model.image_model()["weight"]
    assert image_weight[0] > 3 * abs(image_weight[1])
    fusion = get_detector("fusion")
    low, high, unknown = fusion.image_scores([{"noise-baseline": 0.5, "ela": 0.5}, {"noise-baseline": 0.01, "ela": 0.5},
                                              {}])
    assert high > low and unknown == pytest.approx(float(model.image_model()["bias"][0]))


def _member_result(detector_id: str, evidence, heatmap: np.ndarray) -> Result:
    """A result of ``detector_id`` on ``evidence`` with default parameters, as if computed earlier."""
    detector = get_detector(detector_id)
    return Result(detector_id=detector_id, heatmap=heatmap, score=float(heatmap.max()), threshold=0.5,
                  mask=heatmap >= 0.5,
                  provenance={"detector": detector_id, "detector_version": detector.version,
                              "parameters": detector.validate_params({}), "weights_sha256": {},
                              "score_definition": detector.score_definition,
                              "evidence_sha256": evidence.sha256, "libraries": library_versions()})


@pytest.fixture
def planted_evidence(tmp_path):
    rgb, _ = noisy_image_with_planted_region(64, 64)
    return load_evidence(write_png(tmp_path / "picture.png", rgb))


def test_fusion_finds_the_region_where_members_disagree_and_reuses_their_results(fusion_weights, planted_evidence,
                                                                                  monkeypatch):
    maps, truth = _planted_maps(np.random.default_rng(7))
    supplied = [_member_result(member, planted_evidence, maps[member]) for member in MEMBERS]
    for member in MEMBERS:
        assert key_for_run(get_detector(member), planted_evidence.sha256) == result_key(supplied[MEMBERS.index(member)])

    def must_not_run(self, *args, **kwargs):
        raise AssertionError(f"{self.id} was run although its result was supplied")

    for member in MEMBERS:
        monkeypatch.setattr(type(get_detector(member)), "run", must_not_run)
    fusion = get_detector("fusion").reuse_results(index_results(supplied))
    result = fusion.run(planted_evidence, device="cpu")
    assert sorted(result.extra["reused"]) == sorted(MEMBERS)
    assert set(result.extra_maps) == {f"member/{member}" for member in MEMBERS}
    fused_auc = metrics.pixel_auc(result.heatmap, truth)
    decoy_auc = metrics.pixel_auc(maps["ela"], truth)
    assert fused_auc > 0.95 > decoy_auc
    assert result.heatmap[truth].mean() > result.heatmap[~truth].mean() + 0.3
    # without the informative member, the decoy alone hardly separates the region any more
    alone = get_detector("fusion").reuse_results(index_results(supplied)).run(
        planted_evidence, {"members": "ela"}, device="cpu")
    def contrast(heatmap):
        return heatmap[truth].mean() - heatmap[~truth].mean()

    assert contrast(alone.heatmap) < contrast(result.heatmap) - 0.15


def test_fusion_runs_missing_members_and_cancels(fusion_weights, planted_evidence):
    messages = []
    result = get_detector("fusion").run(planted_evidence, progress=lambda f, m: messages.append((f, m)),
                                        device="cpu")
    assert result.extra["reused"] == []
    assert {entry["obtained"] for entry in result.extra["members"].values()} == {"run"}
    assert any(m.startswith("noise-baseline") for _, m in messages) and any(m.startswith("ela") for _, m in messages)
    fractions = [f for f, _ in messages]
    assert fractions == sorted(fractions)
    calls = []

    def cancel_inside_second_member() -> bool:
        calls.append(1)
        return len(calls) > 6

    with pytest.raises(Cancelled):
        get_detector("fusion").run(planted_evidence, progress=lambda f, m: None, cancel=cancel_inside_second_member,
                                   device="cpu")


def test_member_choice_is_validated(fusion_weights, planted_evidence):
    fusion = get_detector("fusion")
    for bad, message in (("ela,ela", "more than once"), ("no-such", "not a detector"), ("fusion", "not a detector")):
        with pytest.raises(ParameterError, match=message):
            fusion.run(planted_evidence, {"members": bad}, device="cpu")
    with pytest.raises(ParameterError, match="not trained with cfa"):
        fusion.run(planted_evidence, {"members": "ela, cfa"}, device="cpu")


def test_stale_model_is_refused(fusion_weights, planted_evidence, monkeypatch):
    monkeypatch.setattr(type(get_detector("ela")), "version", "changed")
    with pytest.raises(WeightsError, match="stale.*ela"):
        get_detector("fusion").run(planted_evidence, device="cpu")
    # a member left out cannot make the model stale
    result = get_detector("fusion").run(planted_evidence, {"members": "noise-baseline"}, device="cpu")
    assert list(result.extra["members"]) == ["noise-baseline"]


def test_member_calibrated_again_makes_the_model_stale(fusion_weights, planted_evidence, monkeypatch):
    import forensics_core.detectors.fusion as fusion_module

    assert get_detector("fusion").layout()["member_calibrations_sha256"] == {m: None for m in MEMBERS}
    monkeypatch.setattr(fusion_module, "calibration_sha256", lambda member: "0" * 64 if member == "ela" else None)
    with pytest.raises(WeightsError, match="another calibration of ela"):
        get_detector("fusion").run(planted_evidence, device="cpu")


def test_untrained_fusion_refuses_to_run(tmp_path, monkeypatch, planted_evidence):
    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path))
    fusion = get_detector("fusion")
    assert not fusion.is_trained()
    with pytest.raises(WeightsError, match="not trained"):
        fusion.run(planted_evidence, device="cpu")


# ---- workbench and report -------------------------------------------------------------------
def test_workbench_reuses_the_case_runs_and_shows_the_members(qtbot, fusion_weights, planted_evidence, tmp_path):
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from app.main import configure_pyqtgraph
    from app.main_window import MainWindow
    from forensics_core.fusion.report_section import fusion_section_html
    from forensics_core.report import png_data_uri

    configure_pyqtgraph()
    window = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    assert window.open_image(planted_evidence.path)
    for detector_id in ("noise-baseline", "fusion"):
        with qtbot.waitSignal(window.controller.stopped, timeout=60000):
            assert window.run_detector(detector_id, {}, "cpu")
    fused = window.states[-1].result
    assert fused.detector_id == "fusion"
    assert fused.extra["reused"] == ["noise-baseline"]
    assert fused.extra["members"]["ela"]["obtained"] == "run"
    panel = window.fusion_panel
    assert panel.isVisible() and [row.member for row in panel.rows] == list(MEMBERS)
    assert "not calibrated" in panel.sentence.text() or "detector" in panel.sentence.text()
    window.select_result(0)
    assert not panel.isVisible()
    window.unsaved = False
    window.close()
    section = fusion_section_html(fused, "inferno", png_data_uri)
    assert "Detectors combined" in section and section.count("<img") == len(MEMBERS)
    assert all(get_detector(m).limitations[0][:30] in section for m in MEMBERS)


def test_fusion_calibration_scores_read_member_rates_leaving_the_photograph_out(fusion_weights):
    def result(a):
        return Result(detector_id="fusion", heatmap=np.zeros((2, 2), np.float32), score=9.0, threshold=0.5,
                      mask=np.zeros((2, 2), bool), extra={"members": {
                          "noise-baseline": {"score": a, "false_alarm_rate": 0.5},
                          "ela": {"score": None, "false_alarm_rate": None}}},
                      timings={}, device="cpu", provenance={})

    fusion = get_detector("fusion")
    scores = fusion.calibration_scores([result(0.9), result(0.1)], ["p", "q"])
    # p: the only other picture scores lower -> rate 1/3; q: the other scores higher -> rate 1
    assert scores == pytest.approx(fusion.image_scores([{"noise-baseline": 1 / 3}, {"noise-baseline": 1.0}]))
    assert get_detector("ela").calibration_scores([result(0.9)], ["p"]) == [9.0]
