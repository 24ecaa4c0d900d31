"""What a kiosk learns of its own catalog: which of its works pass for another.

The shipped verifier (verify.py) was fitted on two renderers' views and their catalogs. A museum's
catalog holds near-twins of its own (a painter's series, one layout in other colours) that no shipped
fit has seen, and an unknown work of the same kind is then taken for one of them: fitted on renderer 2
and reported on renderer 1, 18 of 21 false positives were unknown works taken for a catalog gradient.
So each catalog image is hung on a plain wall (`frame`) and recognised; every other work compared there
is a look-alike, a pair the verifier must reject, and the verifier is refitted on them.

The refit starts from the shipped fit and needs none of its rows: the shipped weights and the curvature
of their fit (the `Prior`, verifier_prior.npz, made by benchmarks/crossval_recognition.py --prior) stand
in for the 59,000 measured pairs (a Laplace approximation: fitted on renderer 2 and reported on
renderer 1 it gives the answers of a refit on all the rows). A catalog without look-alikes keeps the
shipped verifier exactly, and its threshold always: the look-alikes are what the threshold lets through.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import cv2
import numpy as np

from installation.recognition.features import read_npz
from installation.recognition.verify import (FEATURES, MAX_MEASURED, RIDGE, Verifier, curvature, every_pair,
                                            ridge_penalty, with_bias)

if TYPE_CHECKING:
    from installation.recognition.recognizer import Recognition, Recognizer

log = logging.getLogger(__name__)
PRIOR = Path(__file__).with_name("verifier_prior.npz")
SPAN = 0.6  # a look-alike frame: the catalog image's limiting side over the frame's ...
WALL = 170  # ... on a plain mid-grey wall ...
FRAME_HW = (480, 640)  # ... at the camera's working size
# The look-alikes of this many works count in full; a larger catalog's count as this many works' worth.
# At 500 works (renderer 1, seed 1, a tuning seed) all of them in full cost 2.2 points of top-1 for 0.5 of
# false positives; at 100 works' worth 0.2 for 0.3 (docs/RECOGNITION.md, "Since 2026-12-06, seventh").
FULL_WEIGHT_WORKS = 100
# Another work explaining a look-alike frame within this of the work itself is a copy, not a look-alike: an image
# re-encoded as JPEG under another id came within 0.003; the nearest real look-alike of renderers 1, 2 and 3's
# 100-work catalogs stays 0.049 below its work.
DUPLICATE_GAP = 0.02


def frame(image: np.ndarray, size: tuple[int, int] = FRAME_HW) -> np.ndarray:
    """A catalog image hung straight on a plain wall, nothing else in view."""
    h, w = image.shape[:2]
    fh, fw = size
    scale = min(SPAN * fw / w, SPAN * fh / h)
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    out = np.full((fh, fw, 3), WALL, np.uint8)
    y0, x0 = (fh - small.shape[0]) // 2, (fw - small.shape[1]) // 2
    out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    return out


def others(recognizer: Recognizer, work: str, image: np.ndarray) -> Recognition:
    """`work`'s catalog image recognised on a plain wall, its own pairs and keypoint checks left out: what is
    left are the catalog's other works as they compared there (a benchmark dumps it, a kiosk learns from it).
    Another work that explains the frame within DUPLICATE_GAP of the work's own best pair is left out too, every
    pair of it: it is the same picture (an image under two ids, re-encoded, a stereo pair), which nothing can teach
    the verifier to reject (`copies` names them)."""
    return _others_and_copies(recognizer, work, image)[0]


def _others_and_copies(recognizer: Recognizer, work: str, image: np.ndarray) -> tuple[Recognition, tuple[str, ...]]:
    """`others`, and the copies it left out (one recognition, its copies found once)."""
    r = recognizer.recognize(frame(image))
    copied = copies(r, work)
    return _without_own(r, work, copied), copied


def _own_best(r: Recognition, work: str) -> float:
    return max((c.value for c in r.candidates or [] if c.work == work), default=np.inf)


def _without_own(r: Recognition, work: str, copied: tuple[str, ...]) -> Recognition:
    # Every pair of a copy (`copied`: copies(r, work)), not only those as good as the work's own: a copy compared at
    # a lesser place (a part of the picture) is still the same picture there.
    left_out = {work, *copied}
    return dataclasses.replace(r, candidates=[c for c in r.candidates or [] if c.work not in left_out],
                               checks=[c for c in r.checks or [] if c.work != work])


def copies(r: Recognition, work: str) -> tuple[str, ...]:
    """The other works a look-alike frame of `work` shows as much as `work` itself (see `others`)."""
    own = _own_best(r, work)
    return tuple(sorted({c.work for c in r.candidates or [] if c.work != work and c.value >= own - DUPLICATE_GAP}))


def decided(method: str, confidence: float, candidates: list) -> bool:
    """Whether the verifier scored the recognition's first pair: not a keypoint or grain answer, not a
    frame with no outline or whose best work is grainy (confidence 0). A look-alike frame matched by its
    own keypoints teaches nothing."""
    return method not in ("keypoints", "grain") and bool(candidates) and not (method == "none" and confidence == 0.0)


class WorkLookalikes(NamedTuple):
    """What one catalog work's look-alike frame taught (work_lookalikes)."""
    rows: np.ndarray  # its look-alike pairs, as the verifier measures a pair (verify.every_pair)
    copies: tuple[str, ...] = ()  # the works it shows as much as itself (`copies`)


@dataclass(frozen=True)
class Lookalikes:
    """A catalog's look-alike pairs, measured as the verifier measures a pair (verify.every_pair)."""
    rows: np.ndarray  # (pairs, len(FEATURES))
    works: int  # the catalog's works
    frames: int  # works whose frame gave pairs the verifier scored
    copies: tuple[tuple[str, str], ...] = ()  # (work, another work whose image shows the same picture)

    @classmethod
    def of(cls, per_work: list[WorkLookalikes], ids: list[str]) -> Lookalikes:
        """From each work's (work_lookalikes), in catalog order (`ids`)."""
        rows = np.concatenate([w.rows for w in per_work]) if per_work else np.zeros((0, len(FEATURES)))
        pairs = {tuple(sorted((work, c))) for work, w in zip(ids, per_work) for c in w.copies}
        return cls(rows, len(per_work), sum(len(w.rows) > 0 for w in per_work), tuple(sorted(pairs)))

    @property
    def weight(self) -> float:
        """What each pair counts in the refit (FULL_WEIGHT_WORKS)."""
        return min(1.0, FULL_WEIGHT_WORKS / max(self.works, 1))

    def summary(self) -> dict:
        """For the camera's status and the log."""
        return {"works": self.works, "frames": self.frames, "pairs": len(self.rows), "weight": round(self.weight, 3),
                "copies": [list(c) for c in self.copies]}


def rows_of(r: Recognition, textured: list[bool]) -> np.ndarray:
    """The measured rows of a look-alike recognition (`others`), none where the verifier did not decide."""
    if not decided(r.method, r.confidence, r.candidates or []):
        return np.zeros((0, len(FEATURES)))
    return every_pair(list(r.candidates), textured)


def work_lookalikes(recognizer: Recognizer, work: str, image: np.ndarray) -> WorkLookalikes:
    """One catalog work's look-alikes (its image on a plain wall: `others`) as the verifier measures them, and
    its copies. About 0.05 s on one core."""
    left, copied = _others_and_copies(recognizer, work, image)
    rows = rows_of(left, recognizer.textured_of(left.candidates))
    kept = (np.abs(rows) <= MAX_MEASURED).all(axis=1)  # NaN fails too
    if not kept.all():  # a fault in a measurement: never seen; the frame's other pairs still teach
        log.error("recognition: %d look-alike pairs of %s measured beyond +-%g or not a number; left out",
                  int((~kept).sum()), work, MAX_MEASURED)
    return WorkLookalikes(rows[kept], copied)


@dataclass(frozen=True)
class Prior:
    """A fitted verifier's weights (bias last) and the curvature of its fit there (the Hessian of the
    ridge-penalised log-loss over its rows): how far each direction of weights may move for how much loss."""
    weights: np.ndarray  # (len(FEATURES) + 1,)
    precision: np.ndarray  # (len(FEATURES) + 1, len(FEATURES) + 1)

    @classmethod
    def of(cls, v: Verifier, rows: np.ndarray) -> Prior:
        """At v's weights, over the rows it was fitted on (verify.fit's ridge)."""
        w = np.float64([*v.weights, v.bias])
        a = with_bias(rows)
        return cls(w, curvature(a, 1.0 / (1.0 + np.exp(-(a @ w)))) + ridge_penalty(len(w)))

    @classmethod
    def load(cls, v: Verifier, path: Path = PRIOR) -> Prior:
        """The shipped prior; ValueError naming the file and the fix when it is missing, damaged or was
        made for other weights than v's (a refitted verifier shipped without its prior)."""
        z = read_npz(path)
        n = len(FEATURES) + 1
        if z is None or "weights" not in z or "precision" not in z:
            raise ValueError(f"verifier prior {path}: missing or unreadable; reinstall art2mus (pip install .), "
                             "or make it: benchmarks/crossval_recognition.py --prior")
        weights, precision = z["weights"], z["precision"]
        if (weights.dtype != np.float64 or precision.dtype != np.float64 or weights.shape != (n,)
                or precision.shape != (n, n) or not np.isfinite(precision).all()
                or not np.allclose(precision, precision.T) or np.linalg.eigvalsh(precision).min() <= 0):
            raise ValueError(f"verifier prior {path}: not {n} weights and a {n} x {n} symmetric positive definite "
                             "precision (float64); make it again: benchmarks/crossval_recognition.py --prior")
        prior = cls(np.float64(weights), np.float64(precision))
        if not np.allclose(prior.weights, [*v.weights, v.bias], atol=1e-9):
            raise ValueError(f"verifier prior {path}: made for other weights than the verifier's; make it again "
                             "for these: benchmarks/crossval_recognition.py --prior")
        return prior

    def save(self, path) -> None:
        """To a path or a file opened for writing."""
        np.savez(path, weights=self.weights, precision=self.precision)


def adapted(v: Verifier, prior: Prior, found: Lookalikes, steps: int = 100) -> Verifier:
    """v refitted with the look-alikes as rejected pairs (each counting found.weight), the shipped fit kept as
    `prior`: Newton's method on the convex 1/2 (w - w0)' H0 (w - w0) + weight * log-loss(look-alikes), each step
    halved until it lowers it (many pairs the shipped verifier is sure of would make full steps swing back and
    forth for ever). The threshold stays."""
    if not len(found.rows):
        return v
    if not (np.abs(found.rows) <= MAX_MEASURED).all():  # NaN fails too
        raise ValueError(f"look-alike measurements beyond +-{MAX_MEASURED:g} or not numbers: not a pair's")
    a = with_bias(found.rows)
    w0, h0, c = prior.weights, prior.precision, found.weight
    # A measurement the shipped fit never saw vary (only its ridge holds it: the network's absence where it
    # is always loaded) keeps its weight: a few look-alikes must not give it one.
    free = np.flatnonzero(np.diag(h0) > 2 * RIDGE)
    if not len(free):
        return v
    loss = lambda w: 0.5 * (w - w0) @ h0 @ (w - w0) + c * np.logaddexp(0.0, a @ w).sum()
    w = w0.copy()
    for _ in range(steps):
        p = 0.5 * (1.0 + np.tanh(0.5 * (a @ w)))  # the logistic, without exp's overflow
        grad = h0 @ (w - w0) + c * (a.T @ p)
        hess = h0 + c * curvature(a, p)
        step = np.zeros_like(w)
        step[free] = np.linalg.solve(hess[np.ix_(free, free)], grad[free])
        if np.abs(step).max() < 1e-8:
            break
        t, before = 1.0, loss(w)
        while loss(w - t * step) > before and t > 1e-6:
            t *= 0.5
        w = w - t * step
    else:
        log.warning("recognition: the look-alike refit stopped after %d steps before it settled; its weights are "
                    "better than the shipped ones for these look-alikes, not the best", steps)
    return dataclasses.replace(v, weights=tuple(float(x) for x in w[:-1]), bias=float(w[-1]))

