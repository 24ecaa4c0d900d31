"""Whether a place is a whole picture or a part of a larger one: a picture ends at its sides (a frame,
the wall), while a rectangle found inside a larger picture - three of an unknown work's eight stripes,
a band of a colour field - has that picture go on across its sides.

Found on the false positives of a 500-work catalog (renderer 1, seed 1): most unknown banded works
taken for a catalog work were taken at a part of themselves whose bands are a catalog work's, which
the light fit, the edges and the network all find alike. Across a side, the colours just inside are
the colours just outside, at the same places along it, and they change along the side (several
bands): a visitor crossing a side matches too but is one colour, a wall of the work's border colour
matches but does not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SIDE = 64  # pixels of the rectified place
GAP = 6  # pixels beyond a side not looked at (a found side a few pixels inside its work's, a thin frame)
STRIP = 6  # pixels of the strips compared, inside and beyond the gap
TOLERANCE = (0.12, 8.0)  # inside and outside alike: within this share of the value plus grey levels
VARIED = 12.0  # grey levels the matching colours must vary along a side (several bands, not one colour)


@dataclass(frozen=True)
class Continuation:
    """Of a place's four sides, the most and the second most it goes on across: one side may seem to (a
    glare spot or a visitor's coloured clothes across it, a wall like the frame), two rarely do unless the
    place is inside a larger picture (both cut sides of three of eight stripes)."""
    most: float
    second: float


def continuation(frame_bgr: np.ndarray, quad: np.ndarray) -> Continuation:
    """Per side, in [0, 1]: the share of its length along which the picture goes on beyond the place in
    the same colours, where those colours vary along the side (0 where they do not)."""
    shares = sorted(sides(frame_bgr, quad))
    return Continuation(shares[-1], shares[-2])


def sides(frame_bgr: np.ndarray, quad: np.ndarray) -> list[float]:
    """Each side's share (see `continuation`), in the order the square is turned."""
    m = GAP + STRIP
    full = SIDE + 2 * m
    to = cv2.getPerspectiveTransform(np.float32(quad), np.float32([[0, 0], [SIDE, 0], [SIDE, SIDE], [0, SIDE]]) + m)
    # Beyond the camera's view the warp gives black (not the border's pixels again, which would go on).
    square = cv2.warpPerspective(frame_bgr, to, (full, full), flags=cv2.INTER_AREA).astype(np.float32)
    out = []
    for turns in range(4):
        turned = np.rot90(square, turns)
        inside = turned[m:m + STRIP, m:m + SIDE].mean(0)  # (SIDE, 3): the top side's colours along it
        outside = turned[:STRIP, m:m + SIDE].mean(0)
        alike = (np.abs(inside - outside) <= TOLERANCE[0] * inside + TOLERANCE[1]).all(1)
        varied = alike.sum() >= 2 and inside[alike].std(0).sum() >= VARIED
        out.append(float(alike.mean()) if varied else 0.0)
    return out
