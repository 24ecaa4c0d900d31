"""`art2mus demo`: the real kiosk on the embedded default. It renders a small synthetic gallery
(colour field, stripes, a composition) as the catalog, then runs `art2mus run` — the supervisor
with the camera, generator and audio processes over real ZeroMQ sockets — on the tiny demo bundle,
the synthetic gallery walk camera (a visitor moves between works, leaves, comes back to one seen
before) and the file sink, for `--seconds`. It writes DIR/demo.wav (what the speakers would have
played), DIR/summary.json (underruns, switches, clips, crossfades, time to music per visit, stage
timings) and DIR/kiosk.log (the processes' own logs), and prints a short summary."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from installation.config import Config, parse_config
from installation.generator.model import resolve_bundle

log = logging.getLogger(__name__)
SIZE = (480, 640)  # height, width


def colour_field(rng) -> np.ndarray:
    img = np.empty((*SIZE, 3), np.uint8)
    split = int(SIZE[0] * rng.uniform(0.3, 0.7))
    img[:split], img[split:] = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
    return cv2.GaussianBlur(img, (31, 31), 0)


def stripes(rng) -> np.ndarray:
    img = np.empty((*SIZE, 3), np.uint8)
    width = int(rng.integers(20, 80))
    colours = rng.integers(0, 255, (2, 3))
    for x in range(0, SIZE[1], width):
        img[:, x : x + width] = colours[(x // width) % 2]
    return img


def composition(rng) -> np.ndarray:
    img = np.full((*SIZE, 3), rng.integers(180, 255, 3), np.uint8)
    for _ in range(12):
        centre = (int(rng.integers(0, SIZE[1])), int(rng.integers(0, SIZE[0])))
        cv2.circle(img, centre, int(rng.integers(10, 90)), tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
    return img


STYLES = (("colour-field", colour_field), ("stripes", stripes), ("composition", composition))


def render_artworks(folder: Path, count: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        name, style = STYLES[i % len(STYLES)]
        path = folder / f"{i + 1:02d}-{name}.png"
        cv2.imwrite(str(path), style(rng))
        paths.append(path)
    return paths


WALK_MARGIN_S = 8.0
RETURN_TARGET_S = 0.5  # music for a returning artwork (cached clip) within this
FRESH_MARGIN_S = 1.0  # a new artwork's first fresh clip: within the generator's time for one clip plus this


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def walk_seed(ids: list[str], seconds: float, tries: int = 200) -> int:
    """The first walk seed whose visitor sees every work and comes back to one within `seconds`
    (the camera's random walk otherwise may skip a work in a short demo)."""
    from installation.camera.sources import walk_plan

    best = 0
    for seed in range(tries):
        t, seen, returned = 0.0, [], False
        for seg in walk_plan(ids, seed):
            if t + WALK_MARGIN_S > seconds:  # the kiosk's start-up and the camera's entering take a while
                break
            if seg.artwork_id:
                returned |= seg.artwork_id in seen and seen[-1:] != [seg.artwork_id]
                seen.append(seg.artwork_id)
            t += seg.seconds
        if set(seen) == set(ids) and returned:
            return seed
        best = seed if set(seen) == set(ids) else best
    return best


def kiosk_config(cfg: Config, out: Path, bundle: Path, cache: Path, seconds: float) -> dict:
    """The embedded default as a kiosk config: tiny bundle, demo catalog, synthetic walk, file sink,
    loopback ports nobody else uses."""
    data = cfg.model_dump(mode="json")
    ports = _free_ports(5)
    data["model"].update(bundle=str(bundle), clip_seconds=cfg.demo.clip_seconds, steps=cfg.demo.steps,
                         seed_policy="random")
    data["catalog"]["folder"] = str(out / "artworks")
    data["camera"]["source"] = "synthetic"
    data["camera"]["synthetic_seed"] = walk_seed(sorted(p.stem for p in (out / "artworks").glob("*.png")), seconds)
    data["audio"].update(sink=f"file:{out / 'demo.wav'}", file_realtime=True)
    data["generator"].update(cache=str(cache), ahead_seconds=2 * cfg.demo.clip_seconds)
    data["schedule"] = {"open": None, "close": None, "quiet": False}
    data["ipc"] = {k: f"tcp://127.0.0.1:{p}" for k, p in
                   zip(("artwork_events", "clips", "audio_status", "generator_status", "supervisor"), ports)}
    return data


@dataclass(frozen=True)
class DemoSummary:
    out: Path
    data: dict


def summarise(children: dict, seconds: float, wall: float, out: Path) -> dict:
    audio, gen = children["audio"].status, children["generator"].status
    visits = audio.get("visits", [])
    one_clip = gen.get("last_clip_s")
    seen: set[str] = set()
    ttm = []
    for v in visits:
        returning = v["artwork"] in seen
        seen.add(v["artwork"])
        ttm.append({**v, "returning": returning})
    returns = [v["time_to_music_s"] for v in ttm if v["returning"] and v["time_to_music_s"] is not None]
    firsts = [v["time_to_music_s"] for v in ttm if not v["returning"] and v["time_to_music_s"] is not None]
    return {
        "seconds": seconds, "wall_seconds": round(wall, 1), "demo_wav": str(out / "demo.wav"),
        "underruns": audio.get("underruns"), "played_s": audio.get("played_s"),
        "artwork_switches": audio.get("artwork_switches"), "crossfades": audio.get("crossfades"),
        "clips_generated": gen.get("clips_generated"), "clips_cancelled": gen.get("clips_cancelled"),
        "clips_from_cache": (audio.get("started") or {}).get("cached", 0),
        "clips_from_disk_cache": gen.get("clips_from_cache"), "started": audio.get("started"),
        "time_to_music_s": [v["time_to_music_s"] for v in ttm], "visits": ttm,
        "generator": {"rtf": gen.get("rtf"), "one_clip_s": one_clip, "stage_ms": gen.get("stage_ms"),
                      "stage_calls": gen.get("stage_calls"), "providers": gen.get("providers")},
        "targets": {
            "zero_underruns": audio.get("underruns") == 0,
            "returning_within_s": RETURN_TARGET_S, "returning_worst_s": max(returns) if returns else None,
            "returning_ok": all(t <= RETURN_TARGET_S for t in returns) if returns else None,
            "first_fresh_within_s": None if one_clip is None else round(one_clip + FRESH_MARGIN_S, 3),
            "first_worst_s": max(firsts) if firsts else None,
            "first_ok": (all(t <= one_clip + FRESH_MARGIN_S for t in firsts) if firsts and one_clip else None),
        },
        "processes": {n: {"restarts": c.restarts, "last_exit": c.last_exit, "error": c.error}
                      for n, c in children.items()},
    }


def run_demo(cfg: Config, seconds: float, out: Path) -> DemoSummary:
    from installation.supervisor.run import Supervisor, install_signals

    out.mkdir(parents=True, exist_ok=True)
    bundle = resolve_bundle(cfg.model)
    render_artworks(out / "artworks", cfg.demo.artworks)
    cache = Path(tempfile.mkdtemp(prefix="art2mus-demo-cache-"))  # ours: every demo starts with no clips
    try:
        data = kiosk_config(cfg, out, bundle, cache, seconds)
        config_file = out / "kiosk.yaml"
        config_file.write_text(yaml.safe_dump(data, sort_keys=False))
        kiosk = parse_config(data, str(config_file))
        start = time.monotonic()
        with open(out / "kiosk.log", "w") as log_file:
            supervisor = Supervisor(kiosk, str(config_file), log_to=log_file)
            install_signals(supervisor)
            code = supervisor.run(seconds)
        summary = summarise(supervisor.children, seconds, time.monotonic() - start, out)
        summary["exit_code"] = int(code)
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        return DemoSummary(out, summary)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
