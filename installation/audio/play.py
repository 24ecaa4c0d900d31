"""`art2mus play`: clips in order through exactly the kiosk's mixer, crossfades, loudness and
limiter, to the speakers or a WAV file. A technician's speaker test, a curator's listening tool."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

from engines.errors import Art2MusError
from installation.audio.clips import read_clip_file
from installation.audio.levels import ClipRefused
from installation.audio.mixer import Clip, Library, MixerSettings
from installation.audio.process import ArtworkEvent, AudioProcess
from installation.config import AudioConfig
from installation.outputs import check_output_file

log = logging.getLogger(__name__)
ARTWORK = "play"


class Sequence(Library):
    """Each clip once, in order, as the artwork's playlist."""

    def __init__(self, clips: list[Clip]):
        super().__init__()
        self.queue = list(clips)

    def playlist(self, artwork_id: str) -> Clip | None:
        return self.queue.pop(0) if self.queue else None


@dataclass
class PlayResult:
    played: list[str]
    refused: list[str]
    sink: str
    status: dict


def play(cfg: AudioConfig, paths: list[str], crossfade: float | None, out: str | None) -> PlayResult:
    if crossfade is not None and not (math.isfinite(crossfade) and 0 < crossfade <= 30):
        raise Art2MusError(f"--crossfade {crossfade} must be a number of seconds above 0 and at most 30")
    if out is not None:
        check_output_file(out)
    clips, refused = [], []
    for p in paths:
        try:
            clips.append(read_clip_file(Path(p), cfg, ARTWORK, "playlist"))
        except ClipRefused as exc:
            log.error("%s", exc)
            refused.append(f"{p}: {exc}")
    if not clips:
        raise Art2MusError(f"none of the {len(paths)} clip(s) can be played:\n  " + "\n  ".join(refused))
    if out is not None:
        cfg = cfg.model_copy(update={"sink": f"file:{out}"})
    xfade = crossfade if crossfade is not None else cfg.crossfade_seconds
    settings = MixerSettings.from_config(cfg, replay_cached=False, crossfade=xfade, idle_silence_after=0.0)
    proc = AudioProcess(cfg, Sequence(clips), realtime=False, settings=settings)
    proc.events.put(ArtworkEvent(ARTWORK, time.time()))
    proc.run(until_silent=True)
    return PlayResult([c.name for c in clips], refused, proc.sink.device_name, proc.snapshot())
