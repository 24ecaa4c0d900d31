"""ORB keypoints over the catalog: an LSH index that votes for works, the homography of a match,
and matching again near where a homography puts each keypoint (a blurred texture).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from installation.recognition.features import ArtworkFeatures

VOTE_DISTANCE = 45  # Hamming distance (of 256 bits) under which two ORB descriptors vote as the same point


GUIDE_FROM = 6  # RANSAC inliers from which a homography guides a second, local matching ...
# ... when they span this share of the work's width and of its height: a few inliers in one corner (a moon
# two landscapes share) fit a homography that guided matching grows to dozens of chance inliers.
GUIDE_SPREAD = 0.2
GUIDE_RADIUS = 8.0  # frame pixels around a keypoint's predicted place where its match may lie
GUIDE_DISTANCE = 64  # Hamming distance for a guided match (unrelated ORB descriptors lie ~128 apart)
_POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(1).astype(np.uint8)  # bits set


def _homography(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """The homography from matched work points to frame points (USAC) and which matches are its inliers."""
    H, mask = cv2.findHomography(src, dst, cv2.USAC_DEFAULT, 6.0, maxIters=500, confidence=0.99)
    return (None, np.zeros(len(src), bool)) if H is None else (H, mask.ravel().astype(bool))


def _spread(points: np.ndarray, size: tuple[int, int]) -> float:
    """How much of a work (width, height) some of its points span: the smaller of the two shares."""
    if len(points) < 2:
        return 0.0
    extent = points.max(0) - points.min(0)
    return float(min(extent[0] / size[0], extent[1] / size[1]))


def _guided(f: ArtworkFeatures, H: np.ndarray, frame_pts: np.ndarray, frame_desc: np.ndarray):
    """Matches of a work's keypoints among the frame's keypoints near where H puts them (work points,
    frame points): blur spoils a descriptor's nearest neighbour, not its place."""
    if not len(f.keypoints) or not len(frame_pts):
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    predicted = cv2.perspectiveTransform(f.keypoints.reshape(-1, 1, 2), H).reshape(-1, 2)
    # Squared distances as |a|^2 + |b|^2 - 2ab: one matrix product, no (K, N, 2) temporary.
    d2 = (predicted**2).sum(1)[:, None] + (frame_pts**2).sum(1)[None] - 2.0 * predicted @ frame_pts.T
    near = d2 < GUIDE_RADIUS**2
    wi, fi = np.nonzero(near)
    distance = _POPCOUNT[f.descriptors[wi] ^ frame_desc[fi]].sum(1, dtype=np.int32)
    ok = distance < GUIDE_DISTANCE
    wi, fi, distance = wi[ok], fi[ok], distance[ok]
    order = np.lexsort((distance, wi))  # each work keypoint's closest descriptor first
    first = np.ones(len(order), bool)
    first[1:] = wi[order][1:] != wi[order][:-1]
    keep = order[first]
    return f.keypoints[wi[keep]], frame_pts[fi[keep]]


def _keypoint_index(descriptors: list[np.ndarray]):
    """An LSH index (FLANN) over every catalog work's ORB descriptors, and which work owns each row."""
    rows = [d for d in descriptors if len(d)]
    if not rows:
        return None, np.zeros(0, np.int64)
    owner = np.concatenate([np.full(len(d), k, np.int64) for k, d in enumerate(descriptors)])
    lsh = {"algorithm": 6, "table_number": 6, "key_size": 14, "multi_probe_level": 0}  # 6: FLANN_INDEX_LSH
    index = cv2.FlannBasedMatcher(lsh, {"checks": 16})
    index.add([np.concatenate(rows)])
    # FLANN draws the hash tables from OpenCV's RNG of the thread that trains, which whatever ran before in the
    # caller's thread has moved on: the same catalog indexed twice in one process voted otherwise (a test passed or
    # failed by the tests before it). Trained in a thread of its own, the RNG is OpenCV's default state, so the tables
    # are the same wherever and whenever the catalog is indexed, and the caller's RNG is left as it was.
    failed: list[BaseException] = []
    trainer = threading.Thread(target=_train, args=(index, failed), name="keypoint-index")
    trainer.start()
    trainer.join()
    if failed:
        raise failed[0]
    return index, owner


def _train(index, failed: list[BaseException]) -> None:
    try:
        index.train()
    except BaseException as e:  # handed to the caller's thread, where it is raised
        failed.append(e)
