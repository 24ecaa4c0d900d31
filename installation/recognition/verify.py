"""The low-texture decision: is the best (work, place) pair the work, or nothing? A logistic score
of what the pair's comparisons measured, learnt across the two view renderers
(benchmarks/crossval_recognition.py fits it on one renderer's views and reports it on the other's).

The measurements, each from another angle, so that what one forgives another catches:
- value and margin: what the work explains of its place beyond a plain colour, and by how much
  more than any other work (light.explained_fractions: a fitted light, cast and tone curve);
- explained: the fraction of the place it explains;
- edges: whether the place's edges lie where the work's do (light.edge_agreement; cast-free);
- ranks: whether each colour channel orders the pixels as the work's does (light.rank_agreement:
  colour constancy by each picture's own statistics, whatever the cast or gamma); both measured
  where the light fit found no glare (added light has an order and edges of its own);
- textured: a busy work whose keypoints were not verified must explain more;
- similar and its margin: whether a small network's descriptions of the place and of the work agree
  (embedding.py: learnt on renderer 2's views of other works), and by how much more than any
  other work's;
- texture and its margin, for a textured work: whether the directions of the place's fine detail are
  the work's (spectrum.py: alignment-free, so a brick wall or a clock's gears a few pixels off still
  agree), and by how much more than any other work's;
- glare: the share of the place the light fit calls glare (light.Explained.glare: added light; at most half of
  the place is set aside from what it explains). Where glare is set aside the other measurements are taken on
  what is left of the work, and its skirt, too faint to be set aside, lowers them all: a place under glare
  explains less and agrees less for the same right work (its weight came out positive, fitted on either
  renderer alone or both).
A plain work has no edges or order to agree on: those terms then count as absent (their own flags),
as the network's do where it is not loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from installation.messages import finite_float

FEATURES = ("value", "margin", "margin_capped", "explained", "edges", "no_edges", "ranks", "no_ranks", "textured",
            "textured_explained", "similar", "similar_margin", "no_similar", "textured_texture",
            "textured_texture_margin", "glare")
MAX_MEASURED = 1000.0  # no pair's measurement comes near it (fractions, agreements, margins: a few units)
RIDGE = 0.1  # the fit's pull of each weight towards 0 (fit; lookalikes.Prior)
MARGIN_CAP = 0.3  # beyond this a margin says no more (one huge margin must not carry a poor match)


class Candidate(NamedTuple):
    """One compared pair, as Recognition.candidates lists them (the believed pair first) and a benchmark
    dump writes each: a JSON list in these fields' order. The recogniser, the verifier, the camera's
    debouncer and the benchmarks read it by name; Candidate.of reads a dumped row back."""
    work: str  # the work's id
    value: float  # what the work explains of its place beyond a plain colour, weighed (Recognizer.pairs)
    explained: float  # the fraction of the place it explains
    edges: float | None  # light.edge_agreement (None: a plain work)
    ranks: float | None  # light.rank_agreement (None: a plain work)
    similar: float | None = None  # the learned descriptions' agreement (None: no network) ...
    similar_margin: float | None = None  # ... and its margin over the next work's
    texture: float | None = None  # spectrum.agreement and its margin (None: a dump made before they were)
    texture_margin: float | None = None
    glare: float | None = None  # the share called glare (None: a dump made before it was)

    @classmethod
    def of(cls, row) -> Candidate:
        """A dumped row: a list of the fields in order, 5 to 10 of them (a dump made before the later ones
        were measured has fewer). ValueError saying what is wrong with any other."""
        if not isinstance(row, (list, tuple)):
            raise ValueError(f"a compared pair that is a {type(row).__name__}: give a list of {', '.join(cls._fields)}")
        if not 5 <= len(row) <= len(cls._fields):
            raise ValueError(f"a compared pair of {len(row)} fields: give {', '.join(cls._fields)} "
                             "(the first 5 at least)")
        if not isinstance(row[0], str) or not all(finite(x) for x in row[1:3]) or \
                not all(x is None or finite(x) for x in row[3:]):
            raise ValueError(f"a compared pair {str(list(row))[:120]}: give a work id, then finite numbers (or null after "
                             "the third)")
        return cls(row[0], float(row[1]), float(row[2]), *row[3:])


def finite(x) -> bool:
    """A finite int or float, not a bool (what a dumped measurement must be: JSON also reads 1e400 as inf, and
    an int of 400 digits is beyond float): as messages.finite_float reads a socket's numbers."""
    return finite_float(x) is not None


def features(candidates: list[Candidate], textured: bool, which: int = 0) -> np.ndarray:
    """The measurements of one candidate (see FEATURES), beside the best other work's value."""
    first = candidates[which]
    second = max((c.value for c in candidates if c.work != first.work), default=0.0)
    margin = first.value - second
    edges = 0.0 if first.edges is None else first.edges
    ranks = 0.0 if first.ranks is None else first.ranks
    absent = first.similar is None
    return np.float64([first.value, margin, min(margin, MARGIN_CAP), first.explained, edges, first.edges is None,
                       ranks, first.ranks is None, textured, textured * first.explained,
                       0.0 if absent else first.similar, 0.0 if absent else first.similar_margin, absent,
                       textured * (first.texture or 0.0), textured * (first.texture_margin or 0.0),
                       first.glare or 0.0])


def every_pair(candidates: list[Candidate], textured: list[bool]) -> np.ndarray:
    """(N, len(FEATURES)): each candidate's measurements; `textured[k]` for candidate k's work."""
    return np.stack([features(candidates, textured[k], k) for k in range(len(candidates))])


@dataclass(frozen=True)
class Verifier:
    """p = sigmoid(weights . features + bias); the work is accepted when p >= threshold.
    Fitted by benchmarks/crossval_recognition.py --max-fp 0.01 on renderers 1 and 2's `--seed 1` and `--seed 3`
    views together (the four --dump files of `--views 300 --negatives 600` joined: 1,440 views and 2,400 negatives -
    800 empty walls, 1,600 works not in the catalog - with the shipped network, trained on renderer 2's views of
    other works), when the share set aside as glare joined (2026-12-06; before it, the same fit without it,
    docs/RECOGNITION.md "Since 2026-12-05"). Fitted on one renderer's two seeds and reported on the other's
    (docs/RECOGNITION.md, "Since 2026-12-06"): on renderer 1's views, renderer 2 90.4 % top-1, 0.3 % wrong, 0.7 %
    false positives (88.6, 0.3, 0.4 without glare); on renderer 2's, renderer 1 98.2 %, 0.1, 1.8 % (98.9, 0.1, 3.2).
    Shipped, seed 2 (held out): renderer 1 97.5 %, 0.3 %, 1.5 % (97.2 % since rank agreement is Spearman's:
    docs/RECOGNITION.md "twelfth", where a refit on the new measurements scored the tuning views as this does);
    renderer 2 91.7 %, 0.3 %, 0.8 %; renderer 3 (never tuned on) 75.0 %, 0.3 %, 1.8 %; at 500 works, seed 1,
    renderer 1 96.9 %, 0, 4.0 % and renderer 2 88.9 %, 0, 2.2 %: false positives at 500 works still exceed the 2 %
    target. Seed 3 joins the fit because one seed's refit moved renderer 2's seed-2 top-1 by 2 points. The limit is
    half the target's 2 %, fixed before the seed-2 views were scored. Until session 15 every benchmark seed drew the
    same works not in the catalog, so seed 2's false positives were counted on the very works the fit had seen.
    Without the network (RecognizerSettings.embedded 0) its terms are 0 and nothing else is refitted: fewer works
    are accepted. A kiosk refits these weights on its own catalog's look-alikes (lookalikes.py; the curvature of
    this fit, verifier_prior.npz, made with crossval_recognition.py --prior: make it again whenever these change)."""
    weights: tuple = (1.251, 5.027, 2.928, 2.812, 0.897, -0.674, 1.379, 0.0, 1.85, -3.024, 7.998, 3.406, 0.0, 2.089,
                      5.671, 5.448)
    bias: float = -10.515
    threshold: float = 0.70

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Of one measurement row (a 0-d array) or of each row of a matrix."""
        return 1.0 / (1.0 + np.exp(-(x @ np.float64(self.weights) + self.bias)))

    def best(self, candidates: list[Candidate], textured: list[bool]) -> tuple[int, float]:
        """The candidate the verifier believes most (its index) and how much: the best pair by value
        may be a frame's place while the work's own place, a little lower in value, agrees better."""
        p = self.probability(every_pair(candidates, textured))
        k = int(np.argmax(p))
        return k, float(p[k])


def with_bias(x: np.ndarray) -> np.ndarray:
    """Measurement rows with a column of ones last: the bias's (weights with the bias last multiply them)."""
    return np.hstack([x, np.ones((len(x), 1))])


def ridge_penalty(n: int, ridge: float = RIDGE) -> np.ndarray:
    """The ridge's curvature for n weights, the bias last: the bias is not pulled towards 0."""
    penalty = ridge * np.eye(n)
    penalty[-1, -1] = 0.0
    return penalty


def curvature(a: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The log-loss's Hessian over rows `a` (with_bias) whose probabilities are p."""
    return (a * (p * (1 - p))[:, None]).T @ a


def fit(x: np.ndarray, y: np.ndarray, ridge: float = RIDGE, steps: int = 50) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method (IRLS) with a little ridge: (weights, bias)."""
    a = with_bias(x)
    w = np.zeros(a.shape[1])
    penalty = ridge_penalty(a.shape[1], ridge)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        grad = a.T @ (p - y) + penalty @ w
        hess = curvature(a, p) + penalty + 1e-9 * np.eye(a.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])
