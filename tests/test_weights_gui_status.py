"""The GUI's detector status says when weights are broken, not only when they are missing (issue 22.4)."""

from __future__ import annotations


def test_the_detector_panel_says_when_weights_are_broken_not_only_missing(tmp_path, monkeypatch, qapp):
    from app.detector_panel import status_text
    from forensics_core.detectors import get_detector

    monkeypatch.setenv("TAMPER_WEIGHTS_DIR", str(tmp_path))
    assert status_text(get_detector("lstm-endec")).startswith("Not trained")
    (tmp_path / "manifest.json").write_text("{not json")
    text = status_text(get_detector("lstm-endec"))
    assert text.startswith("Weights unusable") and "cannot be read" in text
