"""Grain: the fine detail of a textured work, found cell by cell within a few pixels of where a
place puts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from installation.recognition.features import GRAIN
from installation.recognition.light import _main_axis, _on_axis

GRAIN_RING = 8  # pixels of the GRAIN square left out at its edge (a picture frame, the wall)
GRAIN_CELLS = 4  # the rest is cut into GRAIN_CELLS x GRAIN_CELLS cells ...
GRAIN_SHIFT = 6  # ... each looked for up to this many pixels from where the place puts it
GRAIN_MATCH = 0.4  # correlation at which a cell is found (chance, over the shifts: < 0.4 in 99.9 %)
GRAIN_AGREE = 3  # pixels by which the shifts of one work's found cells may differ
GRAIN_FLAT = 0.3  # standard deviation of band-passed detail under which a cell has none
GRAIN_WORK = 14  # cells with two-dimensional detail that make a work grainy (a noise-like texture)


@dataclass(frozen=True)
class Grain:
    """A grainy work's band-passed detail, cell by cell, seen along its main colour axis."""
    axis: np.ndarray  # (3,) BGR weights
    cells: list  # (y, x, template) of each cell with detail in both directions


def _bandpass(grey: np.ndarray) -> np.ndarray:
    """Detail finer than the layout but coarser than sensor noise and a camera's blur."""
    return cv2.GaussianBlur(grey, (0, 0), 1.2) - cv2.GaussianBlur(grey, (0, 0), 4.0)


def _cell_size() -> int:
    return (GRAIN - 2 * GRAIN_RING) // GRAIN_CELLS


def grain_of(square_bgr: np.ndarray) -> Grain | None:
    """A work's grain, or None when it has too few cells with two-dimensional detail: a flat cell or
    one edge (a colour field's band, a stripe, a hard-edge shape) correlates with any other such cell
    somewhere within the shift, a noise-like texture only with itself."""
    axis = _main_axis(square_bgr)
    detail = _bandpass(_on_axis(square_bgr, axis))
    gx, gy = cv2.Sobel(detail, cv2.CV_32F, 1, 0), cv2.Sobel(detail, cv2.CV_32F, 0, 1)
    size, cells = _cell_size(), []
    for y in range(GRAIN_RING, GRAIN_RING + GRAIN_CELLS * size, size):
        for x in range(GRAIN_RING, GRAIN_RING + GRAIN_CELLS * size, size):
            cell = (slice(y, y + size), slice(x, x + size))
            xx, xy, yy = float((gx[cell] ** 2).sum()), float((gx[cell] * gy[cell]).sum()), float((gy[cell] ** 2).sum())
            spread = np.sqrt(max((xx - yy) ** 2 / 4 + xy * xy, 0.0))
            weak, strong = (xx + yy) / 2 - spread, (xx + yy) / 2 + spread  # structure tensor eigenvalues
            if detail[cell].std() >= GRAIN_FLAT and weak >= 0.3 * strong:
                cells.append((y, x, np.ascontiguousarray(detail[cell])))
    return Grain(axis, cells) if len(cells) >= GRAIN_WORK else None


def grain_found(grain: Grain, square_bgr: np.ndarray) -> int:
    """How many of a work's grain cells are found in a rectified view (GRAIN x GRAIN, BGR) near their
    place, shifted alike: the view's quadrilateral may be a few pixels off, which shifts every cell by
    about the same; a cell of another texture found by chance lies at a shift of its own (coarse
    grain makes such chance finds commoner)."""
    detail = _bandpass(_on_axis(square_bgr, grain.axis))
    size, r, shifts = _cell_size(), GRAIN_SHIFT, []
    for y, x, template in grain.cells:
        region = detail[y - r:y + size + r, x - r:x + size + r]
        # Nothing there (glare clipped flat): any correlation found would be rounding error.
        if cv2.meanStdDev(region)[1][0, 0] < GRAIN_FLAT:
            continue
        _, best, _, at = cv2.minMaxLoc(cv2.matchTemplate(region, template, cv2.TM_CCOEFF_NORMED))
        if best >= GRAIN_MATCH:
            shifts.append(at)
    if not shifts:
        return 0
    shifts = np.float32(shifts)
    return int(max((np.abs(shifts - s).max(1) <= GRAIN_AGREE).sum() for s in shifts))


CHANCE_CHECKS = 20_000  # grain checks (about a millisecond each) chance_cells may spend on a catalog


def chance_others(grainy: int, works: int, checks: int = CHANCE_CHECKS) -> int:
    """How many other catalog works chance_cells checks each of `grainy` grains against: all, within the budget."""
    return works - 1 if grainy * (works - 1) <= checks else max(1, checks // grainy)


def chance_cells(grains: dict[int, Grain], squares: dict[int, np.ndarray], checks: int = CHANCE_CHECKS) -> dict[int, int]:
    """Of each grain, the most cells any other catalog work's square shows (`squares`: every work's, in the
    catalog's order; 0 where there is no other): how far chance reaches for that grain in this catalog.
    Noise-like textures stay at 1-3; works of a common kind (regular grids of dots, a stereo pair of
    photographs) show each other's cells by the dozen, and a work of that kind not in the catalog would too -
    and so may works that are not grainy at all (renderer 2 at 500 works: one dot grain's cells, 4 at most in
    another grainy work, 8-11 in four grids and abstracts, and a grid's view taken for it). Within `checks`
    every pair is checked (19 grainy works in 500: about 10,000 checks, 8 s here); beyond, each grain against as
    many others as the budget allows - the other grainy works first (the next ones in the catalog's order),
    then the works after it - so that a kiosk's camera still starts in seconds."""
    grainy = [k for k in squares if k in grains]
    plain = [k for k in squares if k not in grains]
    each = chance_others(len(grains), len(squares), checks)
    return {k: max((grain_found(grains[k], squares[o]) for o in _others(k, grainy, plain)[:each]), default=0)
            for k in grains}


def _others(k: int, grainy: list[int], plain: list[int]) -> list[int]:
    """The works a grain is checked against, in turn: the other grainy works from the one after it (so that
    every pair is met from one side or the other while the budget reaches half of them), then the others."""
    m = grainy.index(k)
    after = sum(1 for o in plain if o < k)
    return grainy[m + 1:] + grainy[:m] + plain[after:] + plain[:after]
