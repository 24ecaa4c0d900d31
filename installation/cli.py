"""The one entry point, `art2mus`. Parses arguments, loads the config once, runs a command, prints
its result; an Art2MusError becomes one clear line on stderr and exit status 2 (no traceback)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from engines.errors import Art2MusError
from installation.config import Config, load_config

log = logging.getLogger("art2mus")


def _add_generate(sub) -> None:
    p = sub.add_parser("generate", help="generate a clip (16 kHz mono WAV) for each image")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--out", required=True, help="OUT.wav for one image, else a folder")
    p.add_argument("--seconds", type=float, help="clip length (default: model.clip_seconds)")
    p.add_argument("--steps", type=int, help="denoising steps (default: model.steps)")
    p.add_argument("--guidance", type=float, help="guidance scale (default: model.guidance)")
    p.add_argument("--seed", type=int, help="seed (default: from model.seed_policy)")
    p.add_argument("--scheduler", choices=("dpm", "ddim"), help="default: model.scheduler")
    p.add_argument("--clips", type=int, default=1, help="clips per image (seeds seed, seed+1, ...)")
    p.add_argument("--bundle", help="model bundle folder (default: model.bundle, else the tiny demo bundle)")


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="checkpoint folder (or the tiny test model) -> model bundle")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="folder with audioldm2/, imagebind_huge.pth or clip/, the aligner .pt")
    src.add_argument("--tiny", action="store_true", help="export a tiny random-weight checkpoint (tests, demo)")
    src.add_argument("--make-tiny-checkpoint", metavar="DIR", help="only write the tiny checkpoint to DIR")
    p.add_argument("--out", help="bundle folder to write (replaced if it exists)")
    p.add_argument("--encoder", choices=("auto", "imagebind", "clip"), default="auto")
    p.add_argument("--seed", type=int, default=0, help="seed of the tiny checkpoint")
    p.add_argument("--no-int8", action="store_true",
                   help="skip the int8 UNet and vocoder variants (the fast ones for CPU kiosks)")


def _add_audio(sub) -> None:
    sub.add_parser("audio", help="the kiosk's audio process (clips and artwork events over ZeroMQ -> speakers)")
    p = sub.add_parser("play", help="play clips through the kiosk's mixer to the speakers or a WAV file")
    p.add_argument("clips", nargs="+", metavar="CLIP")
    p.add_argument("--crossfade", type=float, help="seconds (default: audio.crossfade_seconds)")
    p.add_argument("--out", help="PATH.wav instead of the sound device")


def _add_camera(sub) -> None:
    p = sub.add_parser("camera", help="the kiosk's camera process: frames -> debounced artwork events (ZeroMQ PUB)")
    p.add_argument("--catalog", help="catalog folder (default: catalog.folder)")
    p.add_argument("--source", help="override camera.source")


def _add_recognize(sub) -> None:
    p = sub.add_parser("recognize", help="which catalog artwork each image shows: one JSON line per image")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--catalog", required=True, help="folder of artwork images (stem = artwork id)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="art2mus", description="Artworks into music: museum installation runtime")
    parser.add_argument("--config", help="YAML config (default: ./config.yaml if present, else built-in defaults)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("demo", help="the embedded default: tiny model, synthetic artworks, clips and a walk to files")
    _add_generate(sub)
    _add_export(sub)
    _add_audio(sub)
    _add_recognize(sub)
    _add_camera(sub)
    return parser


def cmd_generate(cfg: Config, args) -> int:
    from installation.generate import GenerateRequest, generate

    m = cfg.model
    req = GenerateRequest(
        images=args.images, out=args.out,
        seconds=m.clip_seconds if args.seconds is None else args.seconds,
        steps=m.steps if args.steps is None else args.steps,
        guidance=m.guidance if args.guidance is None else args.guidance,
        scheduler=args.scheduler or m.scheduler, seed=args.seed, clips=args.clips, bundle=args.bundle,
    )
    result = generate(m, req)
    for path in result.files:
        print(path)
    print(f"seed {result.seed}; {result.audio_seconds:.2f} s of audio in {result.wall_seconds:.2f} s "
          f"(real-time factor {result.wall_seconds / max(result.audio_seconds, 1e-9):.2f})")
    print(f"{'stage':<10} {'calls':>6} {'total s':>9} {'per call ms':>12}  provider")
    for stage, seconds in result.stage_seconds.items():
        calls = result.stage_calls[stage]
        print(f"{stage:<10} {calls:>6} {seconds:>9.3f} {1000 * seconds / calls:>12.1f}  {result.providers[stage]}")
    return 0


def cmd_export(cfg: Config, args) -> int:
    try:
        from export.checkpoint import locate
        from export.exporter import export_bundle, export_tiny_bundle
        from export.parity import format_table
        from export.tiny import make_tiny_checkpoint
    except ImportError as exc:
        raise Art2MusError(f"export needs the export extra ({exc.name} is missing): pip install '.[export]' torch==2.13.0") from None
    if args.make_tiny_checkpoint:
        print(make_tiny_checkpoint(Path(args.make_tiny_checkpoint), args.seed))
        return 0
    if not args.out:
        raise Art2MusError("export needs --out BUNDLE, the folder to write the model bundle to")
    out = Path(args.out)
    int8 = not args.no_int8
    rows = (export_tiny_bundle(out, args.seed, int8) if args.tiny
            else export_bundle(locate(Path(args.checkpoint), args.encoder), out, int8=int8))
    print("parity, ONNX Runtime vs PyTorch:")
    print(format_table(rows))
    print(f"bundle written to {out}")
    return 0


def cmd_demo(cfg: Config, args) -> int:
    from installation.demo import run_demo

    summary = run_demo(cfg)
    print(f"demo: {len(summary.clips)} artworks -> clips in {summary.out / 'clips'} "
          f"(bundle {summary.bundle}), {summary.wall_seconds:.1f} s")
    for clip in summary.clips:
        print(f"  {clip['artwork']} -> {clip['clip']} ({clip['seconds']:.2f} s)")
    print(f"a visitor walked past {', '.join(summary.visited)}; the camera saw: "
          + ", ".join(f"{e['artwork'] or 'nobody'} at {e['t']:.1f} s" for e in summary.camera_events))
    print(f"what the kiosk played, through its mixer: {summary.walk} ({summary.walk_seconds:.1f} s)")
    print(f"summary: {summary.out / 'summary.json'}")
    return 0


def cmd_audio(cfg: Config, args) -> int:
    import os

    from installation.audio import EXIT_DEVICE_LOST, run_audio_process

    code = run_audio_process(cfg.audio, cfg.ipc)
    if code == EXIT_DEVICE_LOST:
        # PortAudio may hang in its exit handler on a vanished device: leave at once for the supervisor.
        logging.shutdown()
        sys.stderr.flush()
        os._exit(code)
    return code


def cmd_play(cfg: Config, args) -> int:
    from installation.play import play

    result = play(cfg.audio, args.clips, args.crossfade, args.out)
    for name in result.played:
        print(f"played  {name}")
    for reason in result.refused:
        print(f"refused {reason}")
    s = result.status
    print(f"to {result.sink}: {s['frames'] / cfg.audio.sample_rate:.2f} s, underruns {s['underruns']}, "
          f"callback p99 {s['callback_p99_ms']} ms of a {s['block_ms']} ms block")
    return 0


def cmd_recognize(cfg: Config, args) -> int:
    import json

    import cv2

    from installation.catalog import load_catalog
    from installation.recognition import Recognizer

    catalog = load_catalog(args.catalog)
    recognizer = Recognizer(catalog.features)
    for image in args.images:
        frame = cv2.imread(image, cv2.IMREAD_COLOR) if os.path.isfile(image) else None
        if frame is None:
            why = "is not an image OpenCV can read" if os.path.isfile(image) else "does not exist (or is not a file)"
            line = {"image": image, "artwork_id": None, "confidence": 0.0, "error": f"{image!r} {why}"}
        else:
            r = recognizer.recognize(frame)
            line = {"image": image, "artwork_id": r.artwork_id, "confidence": r.confidence, "method": r.method,
                    "seconds": round(r.seconds, 4)}
            if r.artwork_id:
                info = catalog.artworks[r.artwork_id].info
                line.update({k: v for k, v in (("title", info.title), ("artist", info.artist), ("year", info.year)) if v})
        print(json.dumps(line), flush=True)
    return 0


def cmd_camera(cfg: Config, args) -> int:
    from installation.camera import run_camera_process

    camera = cfg.camera.model_copy(update={"source": args.source}) if args.source else cfg.camera
    return run_camera_process(camera, cfg.ipc, args.catalog or cfg.catalog.folder)


COMMANDS = {"generate": cmd_generate, "export": cmd_export, "demo": cmd_demo, "audio": cmd_audio, "play": cmd_play,
            "recognize": cmd_recognize, "camera": cmd_camera}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.config)
        level = logging.DEBUG if args.verbose else getattr(logging, cfg.logging.level)
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return COMMANDS[args.command](cfg, args)
    except Art2MusError as exc:
        print(f"art2mus {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
