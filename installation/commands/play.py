"""`art2mus play`: clips through the kiosk's own mixer to the speakers or a WAV file."""

from __future__ import annotations

from installation.config import Config

HELP = "play clips through the kiosk's mixer to the speakers or a WAV file"


def add_arguments(p) -> None:
    p.add_argument("clips", nargs="+", metavar="CLIP")
    p.add_argument("--crossfade", type=float, help="seconds (default: audio.crossfade_seconds)")
    p.add_argument("--out", help="PATH.wav instead of the sound device")


def run(cfg: Config, args) -> int:
    from installation.audio.play import play

    result = play(cfg.audio, args.clips, args.crossfade, args.out)
    for name in result.played:
        print(f"played  {name}")
    for reason in result.refused:
        print(f"refused {reason}")
    s = result.status
    print(f"to {result.sink}: {s['frames'] / cfg.audio.sample_rate:.2f} s, underruns {s['underruns']} "
          f"(reported by the device {s['xruns']}), "
          f"callback p99 {s['callback_p99_ms']} ms, max {s['callback_max_ms']} ms of a {s['block_ms']} ms block")
    return 0
