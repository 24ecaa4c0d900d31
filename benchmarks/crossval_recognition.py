"""Cross-validation of the recogniser's low-texture decision (installation/recognition/verify.py)
across the two renderers: fit on one renderer's views, report on the other's, and the reverse (a
rule that only holds on the renderer it was fitted on is overfit).

    python3 benchmarks/bench_recognition.py --renderer 1 --dump r1.jsonl [...]
    python3 benchmarks/bench_recognition.py --renderer 2 --dump r2.jsonl [...]
    python3 benchmarks/crossval_recognition.py r1.jsonl r2.jsonl

Each dumped view carries its compared pairs (work, value, explained, edges, ranks, the network's
agreement and margin, the texture's agreement and margin, the share set aside as glare;
verify.Candidate): the verifier's logistic weights are fitted on one set's views (the right work first
or not), then its threshold is the one with the most right answers within --max-wrong and --max-fp on
that set (the middle of those that do equally well); it is reported on both sets, by kind, and printed
as a Verifier(...) to ship. Keypoint and grain decisions do not depend on it and stay as they were; the
pairs' measurements themselves are not re-fitted here.

    python3 benchmarks/crossval_recognition.py A B --at-scale r1_500.jsonl --at-scale r2_500.jsonl

also keeps the tuned threshold within the targets (--scale-max-fp 0.02, --scale-max-wrong 0.005) on dumps of
a larger catalog (bench_recognition.py --works 500 --dump): more works, more chances that one scores high on
an unknown work or a wall.

    python3 benchmarks/bench_recognition.py --renderer 1 --dump r1.jsonl --dump-lookalikes l1.jsonl [...]
    python3 benchmarks/crossval_recognition.py r1.jsonl r2.jsonl --lookalikes l1.jsonl l2.jsonl

refits each direction's verifier, as a kiosk does (installation/recognition/lookalikes.py), on the look-alikes
of the catalog it is reported on (each catalog work's image on a plain wall, its own pairs left out: pairs to
reject), from the fit on the first set's views (their curvature its prior); the threshold stays the one chosen
on the fit set's views. The first look-alikes file is the first dump's catalog's, the second the second's.

    python3 benchmarks/crossval_recognition.py r1_s1+s3.jsonl r2_s1+s3.jsonl --prior verifier_prior.npz

writes the shipped verifier's prior (lookalikes.Prior: its weights and the curvature of its fit over both
files' pairs) for installation/recognition/verifier_prior.npz, after the shipped verifier is refitted.

    python3 benchmarks/crossval_recognition.py --curve fit.jsonl report.jsonl [--unused a,b]

fits on the first and prints, on the second, the most right answers at each false-positive level
with the threshold swept on it: not a number to ship, but a comparison of two networks (dumps made
with each) or of the verifier without some measurements (--unused, also for the fit above).

    python3 benchmarks/crossval_recognition.py --keypoints r1.jsonl r2.jsonl

does the same for the rule that accepts a keypoint match (RecognizerSettings.match_accepts: keypoint_explained,
keypoint_ranks, keypoint_min_ranks; dumps since 2026-12-05 hold sure matches too): every match the recogniser weighed is
counted right (its work is the view's) or wrong (another work, or any where none is in view) under
each setting of a small grid; the setting with the most right matches and no more wrong ones than
the least any setting allows is chosen on one set and reported on the other. Per match, not per
view: a view whose match is refused goes on to the low-texture decision, which the dump cannot replay.

    python3 benchmarks/bench_recognition.py --renderer N --visits 200 --dump-visits vN.jsonl [...]
    python3 benchmarks/crossval_recognition.py --visits v1.jsonl v2.jsonl

does the same for the camera debouncer's VisitEvidence (how a visit's frames decide together):
each dumped visit's recognitions are fed again to debouncers of every setting of a small grid (and
to k of n alone); the setting with the most visits entered right within 1.5 s, among those with no
wrong work and no more false-positive visits than k of n alone, is chosen on one set and reported
on the other.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import itertools
import json
import os
import sys
from pathlib import Path

import numpy as np

from installation.recognition import Candidate, KeypointCheck, RecognizerSettings
from installation.recognition.lookalikes import Lookalikes, Prior, adapted, decided
from installation.recognition.verify import FEATURES, MAX_MEASURED, Verifier, every_pair, finite, fit

VIEW_KEYS = ("kind", "truth", "got", "method", "confidence", "candidates", "textured")  # bench_recognition._record
VISIT_KEYS = ("truth", "frames")  # bench_recognition._visits
METHODS = ("keypoints", "grain", "global", "none")  # Recognition.method


def read_dump(path: str) -> list[dict]:
    """The records of a bench_recognition.py --dump or --dump-visits file (JSON lines)."""
    return [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]


def _checked_dump(path: str, keys: tuple) -> list[dict] | str:
    """A dump's records, or why they cannot be used: not a file, not JSON lines, or records without the
    keys this mode reads (a --dump-visits file where a --dump file is wanted, or the reverse)."""
    if not Path(path).is_file():
        return "not a file"
    try:
        records = read_dump(path)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as e:
        return f"not readable JSON lines ({type(e).__name__})"
    if not records:
        return "empty: no records"
    if not all(isinstance(r, dict) and all(k in r for k in keys) for r in records):
        return f"not every line is a record with {', '.join(keys)}"
    if keys == VISIT_KEYS and not all(isinstance(r["frames"], list) for r in records):
        return "not every visit's frames are a list"
    views = [v for r in records for v in (r["frames"] if keys == VISIT_KEYS else [r])]  # a visit's frames in turn
    for k, view in enumerate(views):
        why = _read_view(view)
        if why is not None:
            return f"view {k} has a malformed got, confidence, candidates, textured or checks ({why})"
    return records


def _read_view(view) -> str | None:
    """Checks a view's fields as bench_recognition._record writes them, and reads its compared pairs and
    keypoint matches as the recogniser gave them (verify.Candidate, KeypointCheck: in place); what is
    wrong, or None. Read before any mode trusts them (a hand-edited or cut dump)."""
    if not isinstance(view, dict) or not (view.get("got") is None or isinstance(view.get("got"), str)):
        return "got is not a work id or null"
    cands, flags, checks = view.get("candidates"), view.get("textured", []), view.get("checks", [])
    if not finite(view.get("confidence")) or not all(isinstance(x, list) for x in (cands, flags, checks)):
        return "confidence is not a number, or candidates, textured or checks not a list"
    if view.get("method") not in METHODS:
        return f"method is not one of {', '.join(METHODS)}"
    if view.get("method") not in ("keypoints", "grain") and "textured" in view and (
            len(flags) != len(cands) or not all(isinstance(f, bool) for f in flags)):
        return "not a textured flag for each candidate"
    try:
        view["candidates"] = [Candidate.of(c) for c in cands]
        view["checks"] = [KeypointCheck.of(c) for c in checks]
    except ValueError as e:
        return str(e)
    if any(isinstance(x, float) and abs(x) > MAX_MEASURED for c in view["candidates"] for x in c):
        return f"a measurement beyond +-{MAX_MEASURED:g} (fractions, agreements and margins are within a few units)"
    return None


def _no_work_in_view(records: list[dict]) -> str | None:
    """Why view records hold nothing to be right about (None: some view has a work in it): a look-alike or
    negatives-only file given where catalog views are wanted."""
    if any(r["truth"] is not None for r in records):
        return None
    return "no view with a work in it (a --dump-lookalikes file?)"


def _not_lookalikes(records: list[dict]) -> str | None:
    """Why records are not bench_recognition.py --dump-lookalikes records (None: they are): each of kind
    "look-alike", with no truth and the id of the work whose frame it is."""
    for r in records:
        if r["kind"] != "look-alike" or r["truth"] is not None or not isinstance(r.get("work"), str):
            return (f"a record of kind {str(r['kind'])[:40]!r}, truth {str(r['truth'])[:40]!r} is not a look-alike (kind "
                    "'look-alike', no truth, the work's id)")
    return None


def _named(first: str, second: str) -> tuple[str, str]:
    """Names for the two sets: the files' stems, or their paths where the stems are alike."""
    a, b = Path(first).stem, Path(second).stem
    return (a, b) if a != b else (first, second)


def decidable(rec: dict) -> bool:
    """A view whose first pair the verifier scored (not keypoints or grain; not a view with no outline
    or whose best work is grainy: confidence 0)."""
    return decided(rec["method"], rec["confidence"], rec["candidates"])


def measured(rec: dict) -> np.ndarray:
    """Every pair's measurements (verify.every_pair), in the record's order."""
    return every_pair(rec["candidates"], rec["textured"])


@dataclasses.dataclass(frozen=True)
class Believed:
    """Each record's answer before a threshold is applied: the work the verifier believes most and how
    much. Keypoint and grain answers stand whatever the threshold (p inf); a record with no pair scored is
    none (p -inf). Computed once per weights, so that a sweep of thresholds does not score every pair again."""
    works: list
    p: np.ndarray


def believed(records: list[dict], v: Verifier) -> Believed:
    """Each record's believed pair under v's weights (its threshold is not looked at)."""
    works, ps = [], []
    for rec in records:
        if rec["method"] in ("keypoints", "grain"):
            works.append(rec["got"])
            ps.append(np.inf)
        elif not decidable(rec):
            works.append(None)
            ps.append(-np.inf)
        else:
            k, p = v.best(rec["candidates"], rec["textured"])
            works.append(rec["candidates"][k].work)
            ps.append(p)
    return Believed(works, np.float64(ps))


def score(records: list[dict], v: Verifier, given: Believed | None = None) -> dict:
    """Top-1, wrong and false-positive rates and top-1 by kind under `v` (`given`: believed(records, v)
    already computed for v's weights)."""
    given = believed(records, v) if given is None else given
    by = collections.defaultdict(collections.Counter)
    for rec, work, p in zip(records, given.works, given.p):
        got = work if p >= v.threshold else None
        if rec["truth"] is None:
            by[rec["kind"]]["fp" if got else "ok"] += 1
        else:
            by[rec["kind"]]["right" if got == rec["truth"] else ("none" if got is None else "wrong")] += 1
    pos = [k for k in by if "fp" not in by[k] and "ok" not in by[k]]
    n_pos = sum(sum(by[k].values()) for k in pos)
    n_neg = sum(sum(by[k].values()) for k in by if k not in pos)
    return {"top1": sum(by[k]["right"] for k in pos) / max(n_pos, 1),
            "wrong": sum(by[k]["wrong"] for k in pos) / max(n_pos, 1),
            "fp": sum(by[k]["fp"] for k in by if k not in pos) / max(n_neg, 1),
            "kinds": {k: by[k]["right"] / max(sum(by[k].values()), 1) for k in sorted(pos)}}


def pairs(records: list[dict] | tuple) -> np.ndarray:
    """Every pair's measurements, of the views the verifier decides (none: no rows)."""
    rows = [measured(r) for r in records if decidable(r)]
    return np.concatenate(rows) if rows else np.zeros((0, len(FEATURES)))


def fitted(records: list[dict], unused: tuple = ()) -> tuple[np.ndarray, float]:
    """The logistic weights fitted on every pair of the views the verifier decides (the right work: 1;
    any other work, or any work where none is in view: 0); the `unused` measurements (FEATURES names)
    keep a weight of 0."""
    rows = [r for r in records if decidable(r)]
    x = pairs(rows)
    y = np.float64([c.work == r["truth"] for r in rows for c in r["candidates"]])
    used = np.float64([name not in unused for name in FEATURES])
    weights, bias = fit(x * used, y)
    return weights * used, bias


FP_LEVELS = (0.0, 0.007, 0.014, 0.02, 0.04)
THRESHOLDS = np.round(np.arange(0.30, 0.99, 0.01), 2)  # the verifier thresholds tried


def write_prior(out: str, sets: list[list[dict]]) -> int:
    """The shipped verifier's lookalikes.Prior over the sets' pairs, written to `out` (a temporary file then
    renamed: a failed write leaves the old one whole; exit 2: not writable)."""
    shipped = RecognizerSettings().verifier
    rows = np.concatenate([pairs(records) for records in sets])
    prior = Prior.of(shipped, rows)
    target = Path(out).resolve()  # a link's target is written, the link kept
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            prior.save(f)
        tmp.replace(target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        print(f"--prior {out}: cannot be written ({e.strerror or e}); give a writable path", file=sys.stderr)
        return 2
    print(f"prior of {shipped} over {len(rows)} pairs written to {out}")
    return 0


def curve(fit_on: list[dict], report: list[dict], unused: tuple = ()) -> str:
    """Weights fitted on one set; on the other, the most right answers at each false-positive level
    with the threshold swept there. Not a number to ship (the threshold sees the reported views): a
    comparison of two networks or measurements that does not hang on where one threshold falls."""
    weights, bias = fitted(fit_on, unused)
    given = believed(report, Verifier(tuple(weights), bias))
    best: dict[float, tuple] = {}
    for threshold in THRESHOLDS:
        s = score(report, Verifier(tuple(weights), bias, float(threshold)), given)
        for level in FP_LEVELS:
            if s["fp"] <= level + 1e-9 and s["top1"] > best.get(level, (-1.0,))[0]:
                best[level] = (s["top1"], s["wrong"], threshold)
    return " | ".join(f"fp <= {100 * level:.1f} %: top-1 {100 * b[0]:.1f} % (wrong {100 * b[1]:.1f} %, at {b[2]:.2f})"
                      for level, b in sorted(best.items()))


@dataclasses.dataclass(frozen=True)
class AtScale:
    """Views of a larger catalog (bench_recognition.py --works 500 --dump) that a threshold must also keep
    within the targets: more works, more chances that one scores high on an unknown work or wall."""
    records: list
    max_fp: float = 0.02
    max_wrong: float = 0.005

    def holds(self, v: Verifier, given: Believed | None = None) -> bool:
        s = score(self.records, v, given)
        return s["fp"] <= self.max_fp and s["wrong"] <= self.max_wrong


def tune(records: list[dict], max_wrong: float, max_fp: float, unused: tuple = (),
         scale: tuple[AtScale, ...] = (), alike: tuple = ()) -> Verifier | None:
    """Fit the logistic weights (fitted, on `records`), then the threshold with the most right answers within
    the limits (on `records`, and on each `scale` set within its own). Where several thresholds do equally well
    (an easy set's negatives all score low), the middle one: the set cannot tell them apart, and the lowest
    lets through what another renderer's negatives score just above it (fitted on renderer 1, the lowest
    gave 4.7 % false positives on renderer 2, the middle 2.7 %). Then, given `alike` (a catalog's look-alike
    records), refitted on them as a kiosk refits the shipped verifier (learnt), the threshold kept."""
    weights, bias = fitted(records, unused)
    rounded = Verifier(tuple(np.round(weights, 3).tolist()), round(bias, 3))  # as it would be printed and shipped
    given, at_scale = believed(records, rounded), [believed(a.records, rounded) for a in scale]
    scored = []
    for threshold in THRESHOLDS:
        v = dataclasses.replace(rounded, threshold=float(threshold))
        s = score(records, v, given)
        if s["wrong"] <= max_wrong and s["fp"] <= max_fp and all(a.holds(v, b) for a, b in zip(scale, at_scale)):
            scored.append(((s["top1"], -s["fp"], -s["wrong"]), v))
    if not scored:
        return None
    best = max(key for key, _ in scored)
    tied = [v for key, v in scored if key == best]
    chosen = tied[len(tied) // 2]
    used = np.float64([name not in unused for name in FEATURES])  # an unused measurement stays unused
    return learnt(chosen, pairs(records) * used, alike) if alike else chosen


def learnt(v: Verifier, rows: np.ndarray, alike: tuple) -> Verifier:
    """v, fitted on `rows`, refitted on a catalog's look-alike records as a kiosk refits the shipped verifier
    (lookalikes.adapted: the fit's curvature at v its prior; each record one catalog work)."""
    return adapted(v, Prior.of(v, rows), Lookalikes(pairs(alike), len(alike), sum(decidable(r) for r in alike)))


def line(name: str, s: dict) -> str:
    kinds = ", ".join(f"{k} {100 * v:.0f}" for k, v in s["kinds"].items())
    return f"  {name:<18} top-1 {100 * s['top1']:.1f} %, wrong {100 * s['wrong']:.1f} %, fp {100 * s['fp']:.1f} % ({kinds})"


# enter above 1.0, the most one frame gives (VisitEvidence: never one frame alone)
VISIT_GRID = {"frames": [8, 10], "weak": [0.0, 0.5, 1.0], "weak_from": [0.0, 0.3, 0.5, 0.7], "min_accepted": [1, 2, 3],
              "enter": [1.25, 1.5, 2.0, 2.5, 3.0], "lead": [2.0]}


def _strictness(e) -> tuple:
    """Among settings that do equally well, the strictest (more sure frames, more evidence, less from
    borderline frames) is taken: the held-out set is where a loose tie would cost."""
    return e.min_accepted, e.enter, e.weak_from, -e.weak, -e.frames


def replay_visits(visits: list[dict], evidence) -> dict:
    from types import SimpleNamespace

    from installation.camera.debounce import Debouncer
    from installation.config import CameraConfig

    cam = CameraConfig()
    t = collections.Counter()
    for visit in visits:
        d = Debouncer(cam.enter_k, cam.enter_n, cam.leave_seconds, cam.min_dwell_seconds, evidence=evidence)
        entered, first = set(), None
        for f, rec in enumerate(visit["frames"]):
            r = SimpleNamespace(artwork_id=rec["got"], confidence=rec["confidence"], candidates=rec["candidates"])
            now = f / cam.recognition_hz
            if d.update(r, now) and d.current:
                entered.add(d.current)
                if first is None and d.current == visit["truth"]:
                    first = now
        if visit["truth"] is None:
            t["negatives"] += 1
            t["false"] += bool(entered)
        else:
            t["positives"] += 1
            t["right"] += entered == {visit["truth"]}
            t["wrong"] += bool(entered - {visit["truth"]})
            t["soon"] += first is not None and first <= 1.5 + 1e-9
    return t


def visit_line(name: str, t) -> str:
    pct = lambda a, b: f"{100 * a / max(b, 1):.1f} %"
    return (f"  {name:<26} right {pct(t['right'], t['positives'])}, within 1.5 s {pct(t['soon'], t['positives'])}, "
            f"wrong {pct(t['wrong'], t['positives'])}, false positive visits {pct(t['false'], t['negatives'])} "
            f"({t['false']}/{t['negatives']})")


def crossval_visits(sets: dict[str, list[dict]]) -> None:
    from installation.camera.debounce import VisitEvidence

    for name, visits in sets.items():
        print(visit_line(f"{name} k of n alone", replay_visits(visits, None)))
        print(visit_line(f"{name} default evidence", replay_visits(visits, VisitEvidence())))
    for train, test in itertools.permutations(sets, 2):
        base = replay_visits(sets[train], None)
        best, best_key = None, None
        for values in itertools.product(*VISIT_GRID.values()):
            e = VisitEvidence(**dict(zip(VISIT_GRID, values)))
            t = replay_visits(sets[train], e)
            if t["wrong"] or t["false"] > base["false"]:
                continue
            key = (t["soon"], t["right"], -t["false"], _strictness(e))
            if best_key is None or key > best_key:
                best, best_key = e, key
        print(f"visit evidence tuned on {train}: {best}")
        if best is not None:
            print(visit_line(f"on {train} (tuned)", replay_visits(sets[train], best)))
            print(visit_line(f"on {test} (held out)", replay_visits(sets[test], best)))


KEYPOINT_GRID = {"keypoint_explained": [0.4, 0.5, 0.6], "keypoint_ranks": [0.3, 0.4, 0.5, 0.6, 2.0],
                 "keypoint_min_ranks": [-1.0, 0.0, 0.15]}  # ranks 2.0: the rank rule off; min -1.0: no floor


def keypoint_matches(records: list[dict]) -> list[tuple[bool, int, float, float]]:
    """(right, inliers, explained, ranks) of every keypoint match weighed in the dumped views (sure ones too,
    in dumps since 2026-12-05)."""
    return [(c.work == rec["truth"], c.inliers, c.explained, np.nan if c.ranks is None else c.ranks) for rec in records
            for c in rec.get("checks", [])]


def keypoint_count(matches, setting: dict) -> collections.Counter:
    """Matches accepted, right and wrong, under a setting (RecognizerSettings.match_accepts, the recogniser's way)."""
    rule = dataclasses.replace(RecognizerSettings(), **setting)
    t = collections.Counter()
    for right, inliers, explained, ranks in matches:
        accepted = rule.match_accepts(inliers, explained, ranks)
        t["right" if right else "wrong"] += accepted
        t["matches right" if right else "matches wrong"] += 1
    return t


def keypoint_line(name: str, t) -> str:
    return (f"  {name:<26} accepted right {t['right']} of {t['matches right']}, "
            f"wrong {t['wrong']} of {t['matches wrong']}")


def crossval_keypoints(dumps: dict[str, list[dict]]) -> None:
    sets = {name: keypoint_matches(records) for name, records in dumps.items()}
    shipped = {k: getattr(RecognizerSettings(), k) for k in KEYPOINT_GRID}
    for name, matches in sets.items():
        print(keypoint_line(f"{name} shipped", keypoint_count(matches, shipped)))
    grid = [dict(zip(KEYPOINT_GRID, values)) for values in itertools.product(*KEYPOINT_GRID.values())]
    for train, test in itertools.permutations(sets, 2):
        counts = [keypoint_count(sets[train], g) for g in grid]
        least = min(t["wrong"] for t in counts)
        # The most right within the least wrong; among equals, the strictest (highest thresholds).
        k = max((k for k, t in enumerate(counts) if t["wrong"] == least),
                key=lambda k: (counts[k]["right"], *grid[k].values()))
        print(f"keypoint rule tuned on {train}: {grid[k]}")
        print(keypoint_line(f"on {train} (tuned)", counts[k]))
        print(keypoint_line(f"on {test} (held out)", keypoint_count(sets[test], grid[k])))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("--visits", action="store_true", help="the files are --dump-visits files: tune VisitEvidence")
    p.add_argument("--keypoints", action="store_true", help="tune the few-inlier keypoint rule (--dump files)")
    p.add_argument("--max-wrong", type=float, default=0.003)
    p.add_argument("--max-fp", type=float, default=0.015)
    p.add_argument("--at-scale", action="append", default=[], metavar="DUMP",
                   help="a --dump of a larger catalog (--works 500) on which the tuned threshold must also keep "
                        "false positives within --scale-max-fp and wrong works within --scale-max-wrong (repeatable)")
    p.add_argument("--scale-max-fp", type=float, default=0.02)
    p.add_argument("--scale-max-wrong", type=float, default=0.005)
    p.add_argument("--unused", default="", help=f"measurements left out of the fit, comma-separated ({', '.join(FEATURES)})")
    p.add_argument("--lookalikes", nargs=2, default=None, metavar=("FIRST_LOOKALIKES", "SECOND_LOOKALIKES"),
                   help="bench_recognition.py --dump-lookalikes files of the first and the second dump's catalogs: each "
                        "direction's fit adds the look-alikes of the catalog it is reported on")
    p.add_argument("--prior", default=None, metavar="OUT",
                   help="write the shipped verifier's prior (its weights and the curvature of its fit over both "
                        "files' pairs) to OUT: installation/recognition/verifier_prior.npz, after a refit is shipped")
    p.add_argument("--curve", action="store_true",
                   help="fit on FIRST, and print top-1 on SECOND at each false-positive level (compare networks)")
    args = p.parse_args()
    unused = tuple(x.strip() for x in args.unused.split(",") if x.strip())
    unknown = [x for x in unused if x not in FEATURES]
    if unknown:
        print(f"--unused {', '.join(unknown)}: not a measurement; use some of {', '.join(FEATURES)}", file=sys.stderr)
        return 2
    for name, value in (("--max-wrong", args.max_wrong), ("--max-fp", args.max_fp),
                        ("--scale-max-fp", args.scale_max_fp), ("--scale-max-wrong", args.scale_max_wrong)):
        if not 0.0 <= value <= 1.0:  # NaN fails too
            print(f"{name} {value}: a share of views; use 0-1 (e.g. 0.015)", file=sys.stderr)
            return 2
    if args.visits and args.keypoints:
        print("--visits and --keypoints: one mode at a time", file=sys.stderr)
        return 2
    mode = "--visits" if args.visits else "--keypoints" if args.keypoints else None
    given = [name for name, on in (("--curve", args.curve), ("--unused", unused)) if on]
    given += [flag for flag, on in (("--at-scale", args.at_scale), ("--lookalikes", args.lookalikes)) if on]
    if args.prior is not None and given:
        print(f"--prior with {', '.join(given)}: the prior is the shipped verifier's over both files; "
              "leave them out", file=sys.stderr)
        return 2
    if args.prior is not None:
        given.append("--prior")
        out = Path(args.prior)
        if out.resolve() in (Path(args.first).resolve(), Path(args.second).resolve()):
            print(f"--prior {args.prior}: one of the dumps it is made from; give another path", file=sys.stderr)
            return 2
        if not out.name or args.prior.endswith(os.sep) or out.resolve().is_dir() or (
                out.exists() and not out.resolve().is_file()):
            print(f"--prior {args.prior!r}: not a file to write (a folder, a device, a pipe); give a path such as "
                  "installation/recognition/verifier_prior.npz", file=sys.stderr)
            return 2
    for flag, on in (("--at-scale", args.at_scale), ("--lookalikes", args.lookalikes)):
        if args.curve and on:
            print(f"{flag} with --curve: a curve sweeps the threshold on the reported set; leave one out", file=sys.stderr)
            return 2
    if mode and given:
        print(f"{', '.join(given)} with {mode}: they are for view dumps (the low-texture verifier); leave them out",
              file=sys.stderr)
        return 2
    keys, made_by = (VISIT_KEYS, "--dump-visits") if args.visits else (VIEW_KEYS, "--dump")
    if Path(args.first).resolve() == Path(args.second).resolve():
        print(f"{args.first} twice: give two dumps (one to fit on, one to report on)", file=sys.stderr)
        return 2
    sets = {}
    for name, path in zip(_named(args.first, args.second), (args.first, args.second)):
        records = _checked_dump(path, keys)
        # The verifier's modes score right answers: a file without any work in view has none to score.
        why = records if isinstance(records, str) else _no_work_in_view(records) if mode is None else None
        if why:
            print(f"{path}: {why}; make it with bench_recognition.py {made_by}", file=sys.stderr)
            return 2
        sets[name] = records
    if args.visits:
        crossval_visits(sets)
        return 0
    if args.keypoints:
        crossval_keypoints(sets)
        return 0
    fit_sets = list(sets)[:1] if args.curve else list(sets)
    for name in fit_sets:
        if not any(decidable(r) for r in sets[name]):
            print(f"{name}: no view the verifier decided (all keypoints, grain or no outline); nothing to fit on",
                  file=sys.stderr)
            return 2
    if args.prior is not None:
        return write_prior(args.prior, list(sets.values()))
    if args.curve:
        print(f"fitted on {args.first}, on {args.second}: {curve(*sets.values(), unused)}")
        return 0
    scale = []
    for path in args.at_scale:
        records = _checked_dump(path, VIEW_KEYS)
        why = records if isinstance(records, str) else _no_work_in_view(records)
        if why:
            print(f"{path}: {why}; make it with bench_recognition.py --works 500 --dump", file=sys.stderr)
            return 2
        scale.append(AtScale(records, args.scale_max_fp, args.scale_max_wrong))
    alike = dict.fromkeys(sets, ())
    for name, path in zip(sets, args.lookalikes or ()):
        records = _checked_dump(path, VIEW_KEYS)
        why = records if isinstance(records, str) else _not_lookalikes(records)
        if why:
            print(f"{path}: {why}; make it with bench_recognition.py --dump-lookalikes", file=sys.stderr)
            return 2
        alike[name] = tuple(records)
    current = RecognizerSettings().verifier
    print("shipped:", current)
    for name, records in sets.items():
        print(line(f"on {name}", score(records, current)))
    for path, a in zip(args.at_scale, scale):
        print(line(f"on {Path(path).name} (at scale)", score(a.records, current)))
    for train, test in itertools.permutations(sets, 2):
        t = tune(sets[train], args.max_wrong, args.max_fp, unused, tuple(scale), alike[test])
        added = sum(decidable(r) for r in alike[test])  # a look-alike matched by its own keypoints adds no pair
        with_alike = f" with {test}'s catalog look-alikes ({added} frames' pairs)" if alike[test] else ""
        print(f"tuned on {train}{with_alike}: {t}  (features {', '.join(FEATURES)})")
        if t is None:
            print("  no setting within the limits")
            continue
        print(line(f"on {train} (tuned)", score(sets[train], t)))
        print(line(f"on {test} (held out)", score(sets[test], t)))
        for path, a in zip(args.at_scale, scale):
            print(line(f"on {Path(path).name} (at scale)", score(a.records, t)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
