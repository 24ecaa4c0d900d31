"""`art2mus demo`: the real kiosk on the embedded default, with a short summary."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from engines.errors import Art2MusError
from installation.config import Config

HELP = "the kiosk on the embedded default: tiny model, synthetic gallery walk, real processes, WAV out"


def add_arguments(p) -> None:
    p.add_argument("--seconds", type=float, default=60.0, help="how long the visitor walks (default 60)")
    p.add_argument("--out", help="folder for demo.wav, summary.json, kiosk.log (default: demo.out)")


def _fmt(values) -> str:
    return ", ".join("-" if v is None else f"{v:.2f}" for v in values) or "none"


def run(cfg: Config, args) -> int:
    from installation.demo import run_demo

    if not (math.isfinite(args.seconds) and 5 <= args.seconds <= 3600):
        raise Art2MusError(f"--seconds {args.seconds!r} must be from 5 to 3600")
    out = Path(args.out or cfg.demo.out)
    if not args.verbose:  # a short readable summary; the processes' own logs go to kiosk.log
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    print(f"demo: the kiosk runs for {args.seconds:g} s (camera, generator and audio processes; logs in "
          f"{out / 'kiosk.log'})", flush=True)
    s = run_demo(cfg, args.seconds, out).data
    t, g = s["targets"], s["generator"]
    print(f"played {s['played_s']} s to {s['demo_wav']}: underruns {s['underruns']}, artwork switches "
          f"{s['artwork_switches']}, crossfades {s['crossfades']}")
    print(f"clips: {s['clips_generated']} generated ({s['clips_cancelled']} abandoned when the visitor moved on), "
          f"{s['clips_from_cache']} played from cache")
    print(f"generator: one {cfg.demo.clip_seconds:g} s clip in {g['one_clip_s']} s (real-time factor {g['rtf']}); "
          f"per call ms: {g['stage_ms']}")
    for v in s["visits"]:
        print(f"  {'back at' if v['returning'] else 'new    '} {v['artwork']}: music after "
              f"{_fmt([v['time_to_music_s']])} s ({v['source'] or 'nothing yet'})")
    print(f"targets: zero underruns {'OK' if t['zero_underruns'] else 'MISSED'}; returning within "
          f"{t['returning_within_s']} s {_verdict(t['returning_ok'])} (worst {_fmt([t['returning_worst_s']])}); "
          f"first fresh clip within {t['first_fresh_within_s']} s {_verdict(t['first_ok'])} "
          f"(worst {_fmt([t['first_worst_s']])})")
    print(f"summary: {out / 'summary.json'}")
    return s["exit_code"]


def _verdict(ok) -> str:
    return "n/a" if ok is None else ("OK" if ok else "MISSED")
