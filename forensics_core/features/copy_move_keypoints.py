"""Keypoint search for copy-move forgeries: SIFT, g2NN matching, clustering, affine RANSAC.

The method of Amerini et al. (2011), Section III:

1. SIFT keypoints and descriptors of the whole picture (OpenCV's implementation of Lowe 2004).
2. Generalised 2NN matching (g2NN) of every descriptor against all the others: with the sorted
   distances d_1 <= d_2 <= ... to the other keypoints, the 2NN test d_i / d_{i+1} < T is iterated
   from i = 1 while it holds, and the keypoints at d_1 .. d_k pass as matches. Several copies of a
   region are therefore matched, while a descriptor with many look-alikes (a repeated texture)
   fails the first test and is dropped.
3. Self matches and pairs closer than a few pixels (the same structure seen twice at
   neighbouring scales) are removed.
4. The matched points are clustered by position (single linkage cut at a distance, i.e. the
   connected components of the "closer than r" graph; Amerini et al. use agglomerative clustering
   with a linkage cut as well), and the matches joining two clusters (or one cluster with itself)
   are grouped.
5. Each group with enough matches gets an affine transform by RANSAC; the inliers are removed and
   the fit repeated, so that one group can hold several transforms.

References
----------
I. Amerini, L. Ballan, R. Caldelli, A. Del Bimbo, G. Serra, "A SIFT-based forensic method for
copy-move attack detection and transformation recovery", IEEE Trans. Information Forensics and
Security 6(3), 2011.
D. G. Lowe, "Distinctive image features from scale-invariant keypoints", IJCV 60(2), 2004.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AffineHypothesis:
    """A candidate clone: ``matrix`` (2x3) maps points of one region onto the other.

    ``source_points`` and ``target_points`` (Nx2, x then y) are the supporting correspondences,
    ``target_points ~= matrix @ [source_points, 1]``; ``method`` says which search found it.
    """

    matrix: np.ndarray
    source_points: np.ndarray
    target_points: np.ndarray
    method: str

    @property
    def matches(self) -> int:
        """Number of supporting correspondences."""
        return int(len(self.source_points))


def sift_features(grey: np.ndarray, max_keypoints: int, contrast_threshold: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """SIFT keypoint positions (Nx2, x then y) and descriptors (Nx128 float32) of ``grey`` (uint8).

    The ``max_keypoints`` strongest are kept.
    """
    sift = cv2.SIFT_create(nfeatures=max_keypoints, contrastThreshold=contrast_threshold)
    keypoints, descriptors = sift.detectAndCompute(grey, None)
    if descriptors is None or len(keypoints) < 2:
        return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32)
    points = np.array([k.pt for k in keypoints], np.float32)
    # OpenCV returns one entry per dominant orientation; duplicates at one place carry no new evidence
    # and would match each other.
    _, unique = np.unique(np.round(points * 4).astype(np.int64), axis=0, return_index=True)
    unique.sort()
    return points[unique], descriptors[unique].astype(np.float32)


def nearest_descriptors(descriptors: np.ndarray, k: int, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other descriptors of each descriptor (exact, Euclidean), nearest first.

    An exhaustive search by matrix products in chunks of rows (PyTorch on the CPU, faster than
    NumPy's product and partial sort here): exact and deterministic, which an approximate index
    with random trees is not (an examiner must get the same result twice).

    Returns
    -------
    indices : ndarray of int64
        NxK indices of the neighbours.
    distances : ndarray of float64
        NxK distances to them.
    """
    import torch  # imported here so that listing detectors does not load PyTorch

    data = torch.from_numpy(np.ascontiguousarray(descriptors, dtype=np.float32))
    squared = (data * data).sum(dim=1)
    indices = np.empty((len(data), k), np.int64)
    distances = np.empty((len(data), k), np.float64)
    with torch.inference_mode():
        for start in range(0, len(data), chunk):
            stop = min(start + chunk, len(data))
            block = squared[start:stop, None] + squared[None, :] - 2.0 * (data[start:stop] @ data.T)
            block[torch.arange(stop - start), torch.arange(start, stop)] = float("inf")  # not itself
            values, nearest = torch.topk(block, k, dim=1, largest=False, sorted=True)
            indices[start:stop] = nearest.numpy()
            distances[start:stop] = np.sqrt(np.maximum(values.numpy().astype(np.float64), 0.0))
    return indices, distances


def g2nn_matches(points: np.ndarray, descriptors: np.ndarray, ratio: float, neighbours: int,
                 min_distance: float) -> np.ndarray:
    """Generalised 2NN matches of every keypoint against the others (Amerini et al., Sec. III-A).

    Parameters
    ----------
    points : ndarray
        Nx2 keypoint positions.
    descriptors : ndarray
        Nx128 SIFT descriptors.
    ratio : float
        Threshold T of the 2NN test d_i / d_{i+1} < T (0.5 in the paper).
    neighbours : int
        How many nearest descriptors are examined per keypoint.
    min_distance : float
        Pairs of keypoints closer than this (pixels) are dropped.

    Returns
    -------
    pairs : ndarray of int
        Mx2 indices ``(i, j)`` with ``i < j``, each unordered pair once.
    """
    count = len(points)
    if count < 3:
        return np.zeros((0, 2), np.int64)
    indices, distances = nearest_descriptors(descriptors, min(neighbours + 1, count - 1))
    passing = distances[:, :-1] < ratio * distances[:, 1:]
    # The test is iterated while it holds: keep the leading run of passes.
    accepted = np.cumprod(passing, axis=1).astype(bool)
    rows, cols = np.nonzero(accepted)
    i, j = rows, indices[rows, cols].astype(np.int64)
    keep = (j >= 0) & (j != i)
    i, j = i[keep], j[keep]
    far = np.hypot(*(points[i] - points[j]).T) >= min_distance
    pairs = np.sort(np.stack([i[far], j[far]], axis=1), axis=1)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def cluster_points(points: np.ndarray, linkage_distance: float) -> np.ndarray:
    """Single-linkage clusters cut at ``linkage_distance``: a label per point."""
    # SciPy loads when a run starts, not when the detectors are listed.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    if len(points) == 0:
        return np.zeros(0, np.int64)
    close = np.array(sorted(cKDTree(points).query_pairs(linkage_distance)), np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(close)), (close[:, 0], close[:, 1])), shape=(len(points),) * 2)
    return connected_components(graph, directed=False)[1]


def affine_hypotheses(points: np.ndarray, pairs: np.ndarray, linkage_distance: float,
                      ransac_threshold: float, min_inliers: int, max_models_per_group: int = 3
                      ) -> list[AffineHypothesis]:
    """Affine transforms between clusters of matched keypoints (Amerini et al., Sec. III-B, III-C).

    Matches are grouped by the clusters of their two ends; in each group with at least
    ``min_inliers`` matches an affine transform is fitted by RANSAC (reprojection tolerance
    ``ransac_threshold`` pixels), its inliers removed and the fit repeated. Within one cluster the
    direction of a match is unknown, so both directions are offered to RANSAC and each match is
    kept in the direction that fits.
    """
    if len(pairs) < min_inliers:
        return []
    involved = np.unique(pairs)
    labels = np.full(len(points), -1, np.int64)
    labels[involved] = cluster_points(points[involved], linkage_distance)
    first, second = labels[pairs[:, 0]], labels[pairs[:, 1]]
    # Orient every match from its lower-labelled cluster to the other.
    swap = first > second
    oriented = np.where(swap[:, None], pairs[:, ::-1], pairs)
    groups = np.stack([np.minimum(first, second), np.maximum(first, second)], axis=1)
    hypotheses = []
    for group in np.unique(groups, axis=0):
        members = oriented[np.all(groups == group, axis=1)]
        if group[0] == group[1]:
            members = np.concatenate([members, members[:, ::-1]])
        hypotheses += _sequential_ransac(points[members[:, 0]], points[members[:, 1]], ransac_threshold,
                                         min_inliers, max_models_per_group)
    return hypotheses


def _sequential_ransac(source: np.ndarray, target: np.ndarray, threshold: float, min_inliers: int,
                       max_models: int) -> list[AffineHypothesis]:
    """Up to ``max_models`` affine fits, each on the matches the previous ones left unexplained."""
    found = []
    remaining = np.ones(len(source), bool)
    for _ in range(max_models):
        if remaining.sum() < min_inliers:
            break
        src, dst = source[remaining], target[remaining]
        matrix, inliers = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=threshold,
                                               maxIters=2000, confidence=0.995, refineIters=10)
        if matrix is None:
            break
        inliers = inliers.ravel().astype(bool)
        if inliers.sum() < min_inliers:
            break
        found.append(AffineHypothesis(matrix, src[inliers], dst[inliers], "keypoints"))
        # Remove the inliers and, for intra-cluster groups, their mirrored duplicates.
        used = {tuple(p) for p in np.concatenate([src[inliers], dst[inliers]], axis=1).tolist()}
        used |= {tuple(p) for p in np.concatenate([dst[inliers], src[inliers]], axis=1).tolist()}
        rows = np.concatenate([source, target], axis=1).tolist()
        remaining &= np.array([tuple(r) not in used for r in rows])
    return found
