"""The member layout a fusion model was trained with, recorded in its manifest entry.

A fusion model's weights mean something only for the maps it was trained on: the manifest entry
of ``fusion/model`` records (under ``training.data.layout``) the member detectors, the SHA-256 of
each member's weights files, each member's version, the SHA-256 of each member's calibration (the
image score reads the members' calibrated rates) and the feature layout. The ``fusion`` detector
refuses the model as stale when a chosen member's weights, version or calibration differ
(:func:`stale_members`). No PyTorch here: listing detectors reads the layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from forensics_core.fusion.features import LOCAL_WINDOW, feature_names

#: The manifest key of the fusion weights.
FUSION_KEY = "fusion/model"


def fusion_layout(members: Sequence[str], member_weights: Mapping[str, Mapping[str, str]],
                  member_versions: Mapping[str, str],
                  member_calibrations: Mapping[str, str | None]) -> dict[str, Any]:
    """What the manifest records with the fusion weights: members, their weights SHA-256, versions
    and calibrations' SHA-256 (None for a member without calibration), and the feature layout."""
    return {
        "members": list(members),
        "member_weights_sha256": {member: dict(member_weights.get(member, {})) for member in members},
        "member_versions": {member: str(member_versions[member]) for member in members},
        "member_calibrations_sha256": {member: member_calibrations.get(member) for member in members},
        "features": feature_names(members),
        "local_window": LOCAL_WINDOW,
    }


def layout_from_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The layout recorded in a fusion manifest entry; ``ValueError`` when there is none."""
    layout = (entry.get("training") or {}).get("data", {}).get("layout")
    if not isinstance(layout, dict) or not isinstance(layout.get("members"), list):
        raise ValueError("the fusion weights' manifest entry records no member layout")
    if layout.get("features") != feature_names(layout["members"]) or layout.get("local_window") != LOCAL_WINDOW:
        raise ValueError("the fusion weights were trained on another feature layout")
    return layout


def stale_members(layout: Mapping[str, Any], members: Sequence[str],
                  weights: Mapping[str, Mapping[str, str] | None], versions: Mapping[str, str],
                  calibrations: Mapping[str, str | None]) -> list[str]:
    """Those of ``members`` whose current weights (``weights[member]``: SHA-256 per weights key,
    None when unusable), version or calibration SHA-256 (None when it has none) differ from those
    the fusion model was trained on."""
    recorded_weights = layout["member_weights_sha256"]
    recorded_versions = layout.get("member_versions", {})
    recorded_calibrations = layout.get("member_calibrations_sha256", {})
    return [member for member in members
            if weights.get(member) != recorded_weights.get(member)
            or str(versions.get(member)) != str(recorded_versions.get(member))
            or calibrations.get(member) != recorded_calibrations.get(member)]


def calibration_sha256(detector_id: str) -> str | None:
    """The SHA-256 of ``detector_id``'s shipped calibration in the manifest, None without one."""
    from forensics_core.calibration.calibration_file import calibration_manifest_entry

    entry = calibration_manifest_entry(detector_id)
    return entry["sha256"] if entry is not None else None
