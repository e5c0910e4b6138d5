"""The authentic reference set a calibration is computed on: held-out photographs in several forms.

Each photograph of the held-out validation split (:func:`forensics_core.synth.data.photo_split`:
the odd-numbered ``kodak24`` and ``mcmaster`` photographs, never compressed and never trained on)
is written in the forms an examiner meets:

* ``png``: never compressed;
* three JPEGs at qualities drawn in 70-79, 80-89 and 90-98;
* ``resized``: scaled by :data:`RESIZE_FACTOR` (area averaging) and saved as PNG, and once more
  as a JPEG at a quality drawn in 70-98.

The qualities are drawn from a generator seeded with the set's seed and the photograph's index,
so the set is the same on every machine. Photographs, not images, are split between a
calibration part (:data:`CALIBRATION_SHARE`) and a held-out part on which the stated false-alarm
rates are checked: all forms of one photograph are on the same side, so the check never sees a
re-saved copy of a calibration picture. ``reference.json`` lists every image with its photograph,
form, part and SHA-256, and the set's description recorded in calibrations.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from forensics_core.atomic import write_bytes_atomic, write_json_atomic
from forensics_core.errors import ForensicsError

DEFAULT_REFERENCE_DIR = Path("runs") / "reference-authentic"
REFERENCE_FILE = "reference.json"
REFERENCE_NAME = "authentic validation photographs (kodak24 + mcmaster, odd numbers)"
PROVENANCE = ("Kodak PhotoCD set (cropped to 500x500) and McMaster colour set, odd-numbered photographs "
              "(the workbench's held-out validation split, never trained on), never JPEG-compressed before; "
              "forms written by forensics_core.calibration.reference_set")
#: Scale of the resized forms.
RESIZE_FACTOR = 0.75
#: Quality ranges (inclusive) of the JPEG forms of the full-size picture.
JPEG_QUALITY_RANGES = ((70, 79), (80, 89), (90, 98))
#: Quality range of the resized JPEG form.
RESIZED_JPEG_QUALITY_RANGE = (70, 98)
#: Share of the photographs in the calibration part (the rest is held out).
CALIBRATION_SHARE = 2 / 3
DEFAULT_SEED = 2020
CALIBRATION_PART = "calibration"
HELD_OUT_PART = "held-out"


class ReferenceSetError(ForensicsError):
    """A reference folder cannot be used; the message says why."""


@dataclass(frozen=True)
class ReferenceImage:
    """One image of the reference set: its file (relative to the set's folder), photograph, form, part."""

    file: str
    photo: str
    form: str
    part: str
    sha256: str


@dataclass(frozen=True)
class ReferenceSet:
    """A reference folder as described by its ``reference.json``."""

    folder: Path
    description: dict[str, Any]
    images: tuple[ReferenceImage, ...]

    def part(self, name: str) -> tuple[ReferenceImage, ...]:
        """The images of one part (:data:`CALIBRATION_PART` or :data:`HELD_OUT_PART`)."""
        return tuple(image for image in self.images if image.part == name)

    def describe_part(self, name: str) -> dict[str, Any]:
        """The set's description restricted to one part (image and photograph counts of that part)."""
        images = self.part(name)
        return {**self.description, "part": name, "images": len(images),
                "photos": len({image.photo for image in images})}


def _encoded(rgb: np.ndarray, form: str, quality: int | None) -> tuple[bytes, str]:
    import cv2

    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    if quality is None:
        ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 6])
        suffix = ".png"
    else:
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        suffix = ".jpg"
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB picture
        raise ReferenceSetError(f"could not encode the {form} form")
    return data.tobytes(), suffix


def photo_forms(rgb: np.ndarray, rng: np.random.Generator) -> list[tuple[str, np.ndarray, int | None]]:
    """The forms of one photograph: (form name, pixels, JPEG quality or None for PNG)."""
    import cv2

    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, (max(8, round(width * RESIZE_FACTOR)), max(8, round(height * RESIZE_FACTOR))),
                       interpolation=cv2.INTER_AREA)
    forms: list[tuple[str, np.ndarray, int | None]] = [("png", rgb, None)]
    for low, high in JPEG_QUALITY_RANGES:
        quality = int(rng.integers(low, high + 1))
        forms.append((f"jpeg-q{quality}", rgb, quality))
    forms.append(("resized-png", small, None))
    quality = int(rng.integers(RESIZED_JPEG_QUALITY_RANGE[0], RESIZED_JPEG_QUALITY_RANGE[1] + 1))
    forms.append((f"resized-jpeg-q{quality}", small, quality))
    return forms


def split_photos(photos: Sequence[Path], seed: int) -> tuple[list[Path], list[Path]]:
    """Photographs (sorted by name, then shuffled with ``seed``) split into calibration and held-out parts."""
    ordered = sorted(photos, key=lambda p: (p.parent.name, p.name))
    order = np.random.default_rng(seed).permutation(len(ordered))
    shuffled = [ordered[i] for i in order]
    cut = round(len(shuffled) * CALIBRATION_SHARE)
    return shuffled[:cut], shuffled[cut:]


def write_reference_set(out: Path, photos: Sequence[Path] | None = None, seed: int = DEFAULT_SEED,
                        name: str = REFERENCE_NAME, provenance: str = PROVENANCE) -> ReferenceSet:
    """Write the reference set of ``photos`` (default: the held-out validation photographs) into ``out``.

    Every file is written atomically and ``reference.json`` last. Raises :class:`ReferenceSetError`
    when there are no photographs (the data folder is absent) or one cannot be read.
    """
    from forensics_core.synth.data import find_data_root, load_photo, photo_split

    if photos is None:
        root = find_data_root()
        if root is None:
            raise ReferenceSetError("The pristine photographs (../shared/data or TAMPER_DATA_DIR) are needed to "
                                    "write the default reference set; give a reference folder with --reference.")
        photos = photo_split(root).val
    if len(photos) < 2:
        raise ReferenceSetError("A reference set needs at least two photographs (one per part).")
    calibration, held_out = split_photos(photos, seed)
    parts = {**{p: CALIBRATION_PART for p in calibration}, **{p: HELD_OUT_PART for p in held_out}}
    images = []
    for index, photo in enumerate(sorted(photos, key=lambda p: (p.parent.name, p.name))):
        try:
            rgb = load_photo(photo)
        except FileNotFoundError as exc:
            raise ReferenceSetError(f"The photograph {photo} cannot be read ({exc}).") from None
        label = f"{photo.parent.name}-{photo.stem}"
        for form, pixels, quality in photo_forms(rgb, np.random.default_rng([seed, index])):
            data, suffix = _encoded(pixels, form, quality)
            relative = f"{parts[photo]}/{label}-{form}{suffix}"
            write_bytes_atomic(out / relative, data)
            images.append(ReferenceImage(relative, label, form, parts[photo], hashlib.sha256(data).hexdigest()))
    description = {
        "name": name, "provenance": provenance, "seed": seed, "photos": len(photos), "images": len(images),
        "formats": sorted({image.form.rsplit("-q", 1)[0] for image in images}),
        "resize_factor": RESIZE_FACTOR, "jpeg_quality_ranges": [list(r) for r in JPEG_QUALITY_RANGES],
        "resized_jpeg_quality_range": list(RESIZED_JPEG_QUALITY_RANGE),
        "calibration_share_of_photos": CALIBRATION_SHARE,
        "images_sha256": hashlib.sha256("".join(i.sha256 for i in images).encode()).hexdigest(),
    }
    write_json_atomic(out / REFERENCE_FILE, {"description": description,
                                             "images": [image.__dict__ for image in images]})
    return ReferenceSet(out, description, tuple(images))


def read_reference_set(folder: Path) -> ReferenceSet:
    """The reference set of ``folder``, each image checked against its recorded SHA-256.

    Raises :class:`ReferenceSetError` when ``reference.json`` is missing or malformed, or an
    image is missing or changed.
    """
    path = Path(folder) / REFERENCE_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        images = tuple(ReferenceImage(**{key: str(entry[key]) for key in ("file", "photo", "form", "part", "sha256")})
                       for entry in document["images"])
        description = dict(document["description"])
    except FileNotFoundError:
        raise ReferenceSetError(f"{folder} is not a reference set: it has no {REFERENCE_FILE} (write one with "
                                "forensics_core.calibration.reference_set, or omit --reference).") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReferenceSetError(f"The reference set description {path} cannot be read ({exc}).") from None
    for image in images:
        file = (Path(folder) / image.file).resolve()
        if not file.is_relative_to(Path(folder).resolve()):
            raise ReferenceSetError(f"{path} names {image.file!r}, outside the reference folder.")
        try:
            actual = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError as exc:
            raise ReferenceSetError(f"The reference image {file} cannot be read ({exc.strerror}).") from None
        if actual != image.sha256:
            raise ReferenceSetError(f"The reference image {file} does not match its SHA-256 in {path}.")
    return ReferenceSet(Path(folder), description, images)


def default_reference_set(folder: Path = DEFAULT_REFERENCE_DIR) -> ReferenceSet:
    """The reference set in ``folder``, written there first when the folder has none."""
    if not (Path(folder) / REFERENCE_FILE).exists():
        return write_reference_set(Path(folder))
    return read_reference_set(Path(folder))
