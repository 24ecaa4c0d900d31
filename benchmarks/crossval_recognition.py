"""Cross-validation of the recogniser's low-texture decision thresholds across the two renderers:
tune on one renderer's views, report on the other's, and the reverse (a rule that only holds on the
renderer it was tuned on is overfit).

    python3 benchmarks/bench_recognition.py --renderer 1 --dump r1.jsonl [...]
    python3 benchmarks/bench_recognition.py --renderer 2 --dump r2.jsonl [...]
    python3 benchmarks/crossval_recognition.py r1.jsonl r2.jsonl

Each dumped view is decided again under every setting of a grid of RecognizerSettings' global
thresholds (explained_accept, explained_margin, explained_least, explained_alone,
explained_alone_margin) from its four best (work, value, explained fraction) pairs; keypoint and
grain decisions do not depend on them and stay as they were. On the tuning set the setting with the
most right answers is chosen among those within --max-wrong and --max-fp; it is then reported on
both sets, by kind. The pairs' values themselves (light fit, tolerances) are not re-fitted here.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import sys
from pathlib import Path

GRID = {
    "explained_accept": [0.06, 0.08, 0.1, 0.12, 0.15],
    "explained_margin": [0.015, 0.02, 0.03, 0.045, 0.06],
    "explained_least": [0.35, 0.45, 0.5, 0.6, 0.7],
    "explained_alone": [0.04, 0.06, 0.08],
    "explained_alone_margin": [0.06, 0.1, 0.15],
}


def decide(rec: dict, t: dict) -> str | None:
    if rec["method"] in ("keypoints", "grain"):
        return rec["got"]
    cands = rec["candidates"]
    if not cands or (rec["method"] == "none" and rec["confidence"] == 0.0):
        return None  # no place, or a textured/grainy first work that failed its own check
    first, value, f1 = cands[0]
    second = max((v for i, v, _ in cands if i != first), default=0.0)
    margin = value - second
    sure = (value >= t["explained_accept"] and margin >= t["explained_margin"]) or (
        value >= t["explained_alone"] and margin >= t["explained_alone_margin"])
    return first if sure and f1 >= t["explained_least"] else None


def score(records: list[dict], t: dict) -> dict:
    by = collections.defaultdict(collections.Counter)
    for rec in records:
        got = decide(rec, t)
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


def tune(records: list[dict], max_wrong: float, max_fp: float) -> dict:
    best, best_key = None, None
    for values in itertools.product(*GRID.values()):
        t = dict(zip(GRID, values))
        s = score(records, t)
        if s["wrong"] > max_wrong or s["fp"] > max_fp:
            continue
        key = (s["top1"], -s["fp"], -s["wrong"])
        if best_key is None or key > best_key:
            best, best_key = t, key
    return best


def line(name: str, s: dict) -> str:
    kinds = ", ".join(f"{k} {100 * v:.0f}" for k, v in s["kinds"].items())
    return f"  {name:<18} top-1 {100 * s['top1']:.1f} %, wrong {100 * s['wrong']:.1f} %, fp {100 * s['fp']:.1f} % ({kinds})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("--max-wrong", type=float, default=0.003)
    p.add_argument("--max-fp", type=float, default=0.015)
    args = p.parse_args()
    sets = {Path(f).stem: [json.loads(x) for x in Path(f).read_text().splitlines() if x.strip()]
            for f in (args.first, args.second)}
    from installation.recognition import RecognizerSettings

    current = {k: getattr(RecognizerSettings(), k) for k in GRID}
    print("current settings:", current)
    for name, records in sets.items():
        print(line(f"on {name}", score(records, current)))
    for train, test in itertools.permutations(sets, 2):
        t = tune(sets[train], args.max_wrong, args.max_fp)
        print(f"tuned on {train}: {t}")
        if t is None:
            print("  no setting within the limits")
            continue
        print(line(f"on {train} (tuned)", score(sets[train], t)))
        print(line(f"on {test} (held out)", score(sets[test], t)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
