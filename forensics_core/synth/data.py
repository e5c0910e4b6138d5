"""Where the pristine photographs and object masks are, the fixed validation split, and decoding.

The data live outside the repository (``../shared/data`` beside the checkout, or the folder named
by the ``TAMPER_DATA_DIR`` environment variable) and are read at run time, never copied in. Layout::

    ROOT/pristine/{kodak24,mcmaster,cset14,cbsd68,curban100}/*.png
    ROOT/masks/objects/*.png        (255 = object)
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: Environment variable that names the data root explicitly.
DATA_DIR_ENV = "TAMPER_DATA_DIR"

#: The subsets that fit, together, in one transfer to a GPU machine (about 48 MB).
compact_subsets: tuple[str, ...] = ("kodak24", "mcmaster", "cset14", "cbsd68")

#: Subsets used only when ``include_large`` is true (about 52 MB on their own).
large_subsets: tuple[str, ...] = ("curban100",)

#: Subsets whose odd-numbered images form the held-out validation set. Both were never
#: JPEG-compressed, so validation forgeries carry only the traces we synthesise.
validation_subsets: tuple[str, ...] = ("kodak24", "mcmaster")

#: How many decoded photographs :func:`load_photo` keeps. The compact subsets (124 photographs,
#: about 70 MB decoded) fit entirely; with ``curban100`` most of the set stays cached.
PHOTO_CACHE_SIZE = 128


def find_data_root() -> Path | None:
    """The folder holding ``pristine/`` and ``masks/``, or None when there is none.

    Returns
    -------
    root : Path or None
        ``$TAMPER_DATA_DIR`` when that variable is set (None if it names no folder: an explicit
        setting is never silently replaced by the default), else ``<repo>/../shared/data`` when it
        exists, where ``<repo>`` is the folder containing the ``forensics_core`` package.
    """
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        return path if path.is_dir() else None
    default = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return default if default.is_dir() else None


@dataclass(frozen=True)
class PhotoSplit:
    """Sorted photograph paths of the training and the held-out validation set."""

    train: tuple[Path, ...]
    val: tuple[Path, ...]


def photo_split(root: Path | None = None, include_large: bool = True) -> PhotoSplit:
    """The fixed train/validation split of the pristine photographs.

    Validation is every ``kodak24`` and ``mcmaster`` image whose file-name number is odd; the number
    is the last run of digits in the stem (``kodim07`` -> 7, ``13`` -> 13). Training is everything
    else: the even-numbered ``kodak24`` and ``mcmaster`` images, ``cset14``, ``cbsd68`` and, when
    ``include_large`` is true and the folder exists, ``curban100``. The split depends only on file
    names, so it is identical on every machine.

    Parameters
    ----------
    root : Path, optional
        Data root; :func:`find_data_root` when omitted.
    include_large : bool, optional
        Whether to train on the large subsets too (``False`` restricts training to
        :data:`compact_subsets`, the part that can be carried to a GPU machine).

    Returns
    -------
    split : PhotoSplit
        Both tuples sorted by path.

    Raises
    ------
    FileNotFoundError
        When there is no data root, or it holds no photographs.
    """
    pristine = _require_root(root) / "pristine"
    subsets = compact_subsets + (large_subsets if include_large else ())
    train: list[Path] = []
    val: list[Path] = []
    for subset in subsets:
        for path in sorted((pristine / subset).glob("*.png")):
            if subset in validation_subsets and _file_number(path) % 2 == 1:
                val.append(path)
            else:
                train.append(path)
    if not train or not val:
        raise FileNotFoundError(f"no pristine photographs under {pristine} (expected {', '.join(subsets)})")
    return PhotoSplit(train=tuple(sorted(train)), val=tuple(sorted(val)))


def object_masks(root: Path | None = None) -> tuple[Path, ...]:
    """Sorted paths of the annotated object masks (``masks/objects/*.png``, 255 = object).

    Raises
    ------
    FileNotFoundError
        When there is no data root, or it holds no masks.
    """
    folder = _require_root(root) / "masks" / "objects"
    paths = tuple(sorted(folder.glob("*.png")))
    if not paths:
        raise FileNotFoundError(f"no object masks under {folder}")
    return paths


def load_photo(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a photograph as an HxWx3 uint8 RGB array (grey images are expanded to RGB).

    Decoding dominates the cost of making a sample, so the last :data:`PHOTO_CACHE_SIZE` decoded
    photographs are kept. The returned array is shared with the cache and therefore read-only.

    Raises
    ------
    FileNotFoundError
        When the file is missing or cannot be decoded.
    """
    return _load_photo_cached(os.fspath(path))


def read_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a binary mask PNG as an HxW bool array (True where the value is above 127).

    Raises
    ------
    FileNotFoundError
        When the file is missing or cannot be decoded.
    """
    grey = cv2.imread(os.fspath(path), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        raise FileNotFoundError(f"cannot read mask {path}")
    return grey > 127


@functools.lru_cache(maxsize=PHOTO_CACHE_SIZE)
def _load_photo_cached(path: str) -> np.ndarray:
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"cannot read photograph {path}")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    rgb.setflags(write=False)
    return rgb


def _require_root(root: Path | None) -> Path:
    found = root if root is not None else find_data_root()
    if found is None:
        raise FileNotFoundError(
            f"no data root: set {DATA_DIR_ENV} or place the shared data at ../shared/data beside the checkout")
    return Path(found)


def _file_number(path: Path) -> int:
    digits = re.findall(r"\d+", path.stem)
    if not digits:
        raise ValueError(f"validation subset file {path.name} has no number in its name")
    return int(digits[-1])
