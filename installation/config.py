"""The typed, frozen configuration, loaded once from YAML and validated: an unknown key or a bad
value is an error naming the key, the value and what is allowed. The defaults here are the
defaults of the repository's config.yaml (a test keeps the two equal)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engines.errors import Art2MusError


# PyYAML's constructors raise plain Python errors on values they cannot build (a 30th of February,
# `!!int x`, an unknown `!!bool`): all of them are a file that is not valid YAML to us.
YAML_ERRORS = (yaml.YAMLError, RecursionError, ValueError, KeyError, IndexError, AttributeError, TypeError,
               OverflowError)


def read_yaml(path: Path, what: str):
    """The parsed YAML of `path`; `what` names the file in the error (e.g. "config file x.yaml"). A file that
    is not UTF-8, cannot be read or is not valid YAML is an Art2MusError saying which and what to do."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise Art2MusError(f"{what} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise Art2MusError(f"{what} cannot be read ({exc.strerror}); check its permissions") from None
    except YAML_ERRORS as exc:
        raise Art2MusError(f"{what} is not valid YAML: {str(exc)[:300]}") from None


class Section(BaseModel):
    # inf and nan are never a sensible timeout, level or rate
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ModelConfig(Section):
    bundle: Optional[str] = None  # None: the tiny demo bundle, built once into `cache`
    backend: Literal["auto", "onnxruntime", "tensorrt"] = "auto"
    provider: Literal["auto", "tensorrt", "cuda", "cpu"] = "auto"  # ONNX Runtime execution provider
    threads: int = Field(0, ge=0)  # 0: ONNX Runtime's default (all cores)
    # Stages that run their int8 variant when on the CPU (ignored, with a warning, on a GPU provider).
    int8_stages: tuple[Literal["unet", "vocoder"], ...] = ("unet",)
    steps: int = Field(25, ge=1, le=999)
    guidance: float = Field(3.5, ge=1.0, le=20.0)
    scheduler: Literal["dpm", "ddim"] = "dpm"
    clip_seconds: float = Field(10.24, gt=0, le=60)
    seed_policy: Literal["random", "fixed"] = "random"
    seed: int = Field(0, ge=0)
    verify_hashes: bool = True
    cache: str = "~/.cache/art2mus"

    @property
    def cache_dir(self) -> Path:
        return Path(os.path.expandvars(self.cache)).expanduser()


class DemoConfig(Section):
    out: str = "art2mus-demo"
    artworks: int = Field(3, ge=1, le=12)
    clip_seconds: float = Field(2.0, gt=0, le=60)
    steps: int = Field(8, ge=1, le=999)


class CatalogConfig(Section):
    folder: str = "catalog"  # artwork images; stem = artwork id; optional catalog.yaml


class CameraConfig(Section):
    source: str = "synthetic"  # device index (0), /dev/videoN, video file, GStreamer pipeline ('!'), synthetic
    loop: bool = False  # replay a video file from the start when it ends
    width: int = Field(640, ge=160, le=4096)
    height: int = Field(480, ge=120, le=4096)
    fps: float = Field(15.0, gt=0, le=120)  # synthetic walk frame rate
    synthetic_seed: int = 0
    recognition_hz: float = Field(5.0, gt=0, le=60)
    enter_k: int = Field(4, ge=1)  # enter an artwork when it wins enter_k ...
    enter_n: int = Field(5, ge=1)  # ... of the last enter_n recognitions
    # ... or when the visit's frames together are evidence enough (debounce.VisitEvidence: a few sure
    # frames among borderline ones; a kiosk in hard light would otherwise wait for k of n forever)
    visit_evidence: bool = True
    # Recognise, then confirm: the work found is checked on its place in the next recognitions (1-25 ms, not
    # a search of ~100 ms), and a still scene keeps the answer of a frame checked in it (~0.2 ms); after
    # search_every such recognitions in a row the frame is searched anyway; 0: every frame searched.
    search_every: int = Field(10, ge=0)
    leave_seconds: float = Field(3.0, gt=0)  # leave after this long without it
    min_dwell_seconds: float = Field(2.0, ge=0)  # hold an artwork at least this long
    republish_seconds: float = Field(1.0, gt=0)  # state + heartbeat for late joiners
    stale_seconds: float = Field(3.0, gt=0)  # no new frame this long: reconnect
    reconnect_max_seconds: float = Field(30.0, gt=0)  # backoff cap

    @model_validator(mode="after")
    def _k_of_n(self):
        if self.enter_k > self.enter_n:
            raise ValueError(f"enter_k={self.enter_k} exceeds enter_n={self.enter_n}: no artwork could ever be "
                             "entered; make enter_k <= enter_n")
        return self


class AudioConfig(Section):
    sink: str = "default"  # an output device name (or part of it), "default", or file:PATH.wav
    sample_rate: int = Field(48000, ge=8000, le=192000)
    channels: int = Field(2, ge=1, le=8)
    block: int = Field(1024, ge=64, le=16384)  # frames per device callback
    buffer_seconds: float = Field(0.4, ge=0.1, le=30)  # how far ahead the mixer thread renders
    crossfade_seconds: float = Field(3.0, ge=0.05, le=30)  # between clips of one artwork
    change_crossfade_seconds: float = Field(1.0, ge=0.05, le=30)  # when the artwork changes
    leave_fade_seconds: float = Field(2.0, ge=0.05, le=30)  # when the visitor leaves
    idle_silence_after_seconds: float = Field(300.0, ge=0)  # ambient, then silence, in an empty gallery
    stop_fade_seconds: float = Field(1.0, ge=0.0, le=10)  # on SIGTERM
    loudness_lufs: float = Field(-23.0, ge=-60, le=-5)  # EBU R128 target per clip
    limiter_ceiling_db: float = Field(-1.0, ge=-40, le=0)
    stall_seconds: float = Field(2.0, ge=0.2, le=60)  # no callback progress this long: device lost
    reopen_attempts: int = Field(3, ge=0, le=100)  # then exit non-zero for the supervisor
    file_realtime: bool = True  # a file sink paced like a sound card (false: as fast as possible)
    playlists: Optional[str] = None  # folder of ARTWORK_ID/*.wav clips (fallback and instant response)
    playlist_statuses: tuple[Literal["kept", "new"], ...] = ("kept", "new")  # manifest clips played; rejected: never
    ambient: Optional[str] = None  # folder of *.wav played when no artwork is in view


class GeneratorConfig(Section):
    ahead_seconds: float = Field(20.0, ge=0, le=600)  # fresh audio kept queued ahead of playback, no more
    cache: str = "~/.cache/art2mus/clips"  # recent clips per artwork on disk: the next visit starts at once
    cache_mb: float = Field(500.0, ge=0, le=1_000_000)  # size cap; oldest clips evicted first (0 = no cache)
    cache_per_artwork: int = Field(4, ge=1, le=1000)
    warmup: bool = True  # one short clip at start so the first visitor does not wait for lazy initialisation

    @property
    def cache_dir(self) -> Path:
        return Path(os.path.expandvars(self.cache)).expanduser()


class SupervisorConfig(Section):
    heartbeat_timeout_seconds: float = Field(10.0, ge=1, le=600)  # no heartbeat this long: hung, restarted
    start_timeout_seconds: float = Field(180.0, ge=5, le=3600)  # first heartbeat (a big bundle loads slowly)
    restart_backoff_seconds: float = Field(1.0, ge=0.1, le=60)  # doubled after each quick failure ...
    restart_backoff_max_seconds: float = Field(30.0, ge=1, le=3600)  # ... up to this
    stable_seconds: float = Field(60.0, ge=1, le=86400)  # running this long resets the backoff
    stop_timeout_seconds: float = Field(10.0, ge=1, le=120)  # SIGTERM, then SIGKILL after this


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleConfig(Section):
    """Opening hours: outside them the kiosk is quiet (silence, generator idle). null = always open."""

    open: Optional[str] = None  # "09:30" (local time)
    close: Optional[str] = None  # "18:00"; before `open` means past midnight
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = DAYS
    quiet: bool = False  # a switch for a closed room or an event: quiet now, whatever the hours

    @model_validator(mode="after")
    def _hours(self):
        for key in ("open", "close"):
            value = getattr(self, key)
            if value is not None and not _HHMM.match(value):
                raise ValueError(f"{key}={value!r} is not a time of day; write it as HH:MM, e.g. '09:30'")
        if (self.open is None) != (self.close is None):
            raise ValueError("give both open and close (HH:MM), or neither (always open)")
        return self


class IpcConfig(Section):
    artwork_events: str = "tcp://127.0.0.1:5555"  # camera PUB -> generator, audio, supervisor SUB
    clips: str = "tcp://127.0.0.1:5556"  # generator PUSH -> audio PULL (audio binds)
    audio_status: str = "tcp://127.0.0.1:5557"  # audio PUB: heartbeat + status once a second
    generator_status: str = "tcp://127.0.0.1:5558"  # generator PUB: heartbeat + status
    supervisor: str = "tcp://127.0.0.1:5559"  # supervisor REP: `art2mus status` asks here

    @model_validator(mode="after")
    def _endpoints(self):
        for key, value in self.model_dump().items():
            if not re.match(r"^(tcp://[^:/]+:\d{1,5}|ipc://.+)$", value):
                raise ValueError(f"{key}={value!r} is not a ZeroMQ endpoint this kiosk uses; write tcp://HOST:PORT "
                                 "(127.0.0.1 unless the processes run on other machines) or ipc:///run/art2mus/NAME")
        if len(set(self.model_dump().values())) != len(self.model_dump()):
            raise ValueError("two ipc endpoints are the same; each socket needs its own")
        return self


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(Section):
    model: ModelConfig = ModelConfig()
    demo: DemoConfig = DemoConfig()
    catalog: CatalogConfig = CatalogConfig()
    camera: CameraConfig = CameraConfig()
    audio: AudioConfig = AudioConfig()
    generator: GeneratorConfig = GeneratorConfig()
    supervisor: SupervisorConfig = SupervisorConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    ipc: IpcConfig = IpcConfig()
    logging: LoggingConfig = LoggingConfig()


def _describe(error: dict) -> str:
    key = ".".join(str(p) for p in error["loc"])
    value = error.get("input")
    if error["type"] == "extra_forbidden":
        return f"unknown key {key!r} (value {value!r}); remove it or check its spelling"
    return f"{key}={value!r}: {error['msg']}"


def parse_config(data: dict | None, source: str = "config") -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Art2MusError(f"{source}: the top level must be a mapping of sections (model:, demo:, ...), got {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "\n  ".join(_describe(e) for e in exc.errors())
        raise Art2MusError(f"{source} is invalid:\n  {problems}") from None


def load_config(path: str | Path | None = None) -> Config:
    """`path`, else ./config.yaml when present, else the built-in defaults."""
    if path is None:
        if not Path("config.yaml").is_file():
            return Config()
        path = "config.yaml"
    p = Path(path)
    if p.is_dir():
        raise Art2MusError(f"config file {str(p)!r} is a folder; pass --config with a YAML file")
    if not p.is_file():
        raise Art2MusError(f"config file {str(p)!r} does not exist; pass --config with an existing YAML file")
    return parse_config(read_yaml(p, f"config file {p}"), str(p))
