"""`art2mus doctor`: checks a kiosk box with one command. Each check is a small function that
returns a Check (OK / WARN / FAIL, a one-line detail and, unless OK, the fix); `run_checks` runs
them in order and turns a check that raises into a FAIL naming the exception, never a traceback.

The checks only look: they bind sockets only for a moment, open the camera and the sound device
only for a moment (playing silence), never build a bundle and create no files or folders, except
the catalog's recognition index (.art2mus-index/), which the camera process would build anyway.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import shutil
import socket as pysocket
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from engines.bundle import MANIFEST, REEXPORT, Bundle
from engines.errors import Art2MusError
from installation.config import Config, ModelConfig

log = logging.getLogger(__name__)

CAMERA_SECONDS = 2.0  # frames are read this long
CAMERA_GRACE_SECONDS = 8.0  # a read that blocks longer than this is a hung camera
STREAM_SECONDS = 0.5  # the sound device plays silence this long
NVIDIA_SMI_TIMEOUT = 10.0
NVIDIA_SMI = ("nvidia-smi", "--query-gpu=name,driver_version,compute_cap", "--format=csv,noheader")
DISK_WARN_BYTES = 1_000_000_000
DISK_FAIL_BYTES = 100_000_000
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
TAKEN_FIX = "is another kiosk running? `art2mus status`; else change the port in the config's ipc section"


class Result(str, Enum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    result: Result
    detail: str
    fix: str = ""  # what to do about a WARN or FAIL; empty when OK

    def as_dict(self) -> dict:
        return {**asdict(self), "result": self.result.value}


@dataclass(frozen=True)
class Gpu:
    name: str
    driver: str
    compute_cap: str


@dataclass(frozen=True)
class FrameSample:
    frames: int
    seconds: float
    size: tuple[int, int] | None  # width, height of the last frame
    hung: bool = False
    error: str | None = None  # what read() raised, if it did


# config -----------------------------------------------------------------------------------------
def config_source(path: str | None) -> str:
    """Which file `load_config` read for this `--config` value (the same rule as load_config)."""
    if path:
        return str(Path(path).resolve())
    if Path("config.yaml").is_file():
        return str(Path("config.yaml").resolve())
    return "built-in defaults (no --config and no ./config.yaml)"


def check_config(source: str) -> Check:
    return Check("config", Result.OK, f"{source}: valid")


# bundle -----------------------------------------------------------------------------------------
def bundle_path(m: ModelConfig) -> Path:
    """The configured bundle, else the tiny demo bundle in model.cache (never built here)."""
    from installation.generator.model import tiny_bundle_path

    return Path(m.bundle).expanduser() if m.bundle else tiny_bundle_path(m)


def _settings_against(m: ModelConfig, bundle: Bundle) -> list[str]:
    """model.* settings this bundle cannot honour (found now rather than by the generator at start)."""
    problems = []
    if m.clip_seconds > bundle.max_seconds:
        problems.append(f"model.clip_seconds={m.clip_seconds:g} is longer than this bundle makes "
                        f"(at most {bundle.max_seconds:g} s)")
    problems += [f"model.int8_stages lists {s!r} but the bundle has no int8 {s}" for s in m.int8_stages
                 if "int8" not in bundle.variants(s)]
    return problems


def check_bundle(m: ModelConfig) -> Check:
    from engines.bundle import load_bundle

    path = bundle_path(m)
    if not m.bundle and not (path / MANIFEST).is_file():
        return Check("bundle", Result.WARN, f"no model.bundle set and the tiny demo bundle is not built yet ({path})",
                     "set model.bundle to a bundle from `art2mus export`; `art2mus demo` builds the demo bundle")
    if m.bundle and not path.exists():
        return Check("bundle", Result.FAIL, f"model.bundle={m.bundle!r} does not exist",
                     "set model.bundle to the folder `art2mus export --out` wrote, or copy the bundle there")
    start = time.perf_counter()
    try:
        bundle = load_bundle(path, verify=True)
    except Art2MusError as exc:  # its message ends in the fix, which goes in the fix column instead
        detail = re.split(r"; (?:restore it from|re-export it with)", str(exc))[0]
        return Check("bundle", Result.FAIL, detail, f"restore the bundle from its original copy, or {REEXPORT}")
    files = sum(1 for f in path.rglob("*") if f.is_file())
    src = bundle.manifest.get("source", {})
    detail = (f"{path} ({src.get('kind', '?')}: {src.get('description', '')}), fingerprint {bundle.fingerprint}, "
              f"{files} files, hashes verified in {time.perf_counter() - start:.1f} s")
    problems = _settings_against(m, bundle)
    if problems:
        return Check("bundle", Result.FAIL, f"{detail}; but {'; '.join(problems)}",
                     "change those model.* settings, or export a bundle that has them")
    if not m.bundle:
        return Check("bundle", Result.WARN, f"tiny demo bundle {path}: random weights, noise not music",
                     "export the real model (`art2mus export --checkpoint DIR --out BUNDLE`) and set model.bundle")
    return Check("bundle", Result.OK, detail)


# ONNX Runtime, GPU, TensorRT --------------------------------------------------------------------
def gpu_present() -> bool:
    return shutil.which("nvidia-smi") is not None


def check_onnxruntime(m: ModelConfig) -> Check:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return Check("onnxruntime", Result.FAIL, f"onnxruntime cannot be imported ({exc})",
                     "pip install . (or pip install '.[gpu]' on a GPU box)")
    from engines.onnxruntime_backend import choose_providers

    available = ort.get_available_providers()
    head = f"onnxruntime {ort.__version__}; providers {', '.join(available)}"
    try:
        chosen = choose_providers(m.provider)
    except Art2MusError as exc:
        return Check("onnxruntime", Result.FAIL, f"{head}; {exc}",
                     "install onnxruntime-gpu (pip install '.[gpu]'), or set model.provider: auto")
    detail = f"{head}; model.provider={m.provider} -> {chosen[0]}"
    if gpu_present() and not any(p in available for p in GPU_PROVIDERS):
        return Check("onnxruntime", Result.WARN, f"{detail}, although this box has an NVIDIA GPU (nvidia-smi)",
                     "pip uninstall -y onnxruntime && pip install '.[gpu]' (onnxruntime-gpu) to run on the GPU")
    return Check("onnxruntime", Result.OK, detail)


def query_gpus(timeout: float = NVIDIA_SMI_TIMEOUT) -> list[Gpu]:
    """The GPUs nvidia-smi lists; [] without nvidia-smi. Raises Art2MusError when it fails or hangs."""
    if not gpu_present():
        return []
    try:
        out = subprocess.run(list(NVIDIA_SMI), capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise Art2MusError(f"nvidia-smi did not answer within {timeout:g} s (a hung driver?)") from None
    if out.returncode != 0:
        why = (out.stderr or out.stdout).strip().splitlines()
        raise Art2MusError(f"nvidia-smi failed (exit {out.returncode}): {why[0] if why else 'no message'}")
    gpus = []
    for line in out.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append(Gpu(*parts))
    return gpus


def tensorrt_version() -> str | None:
    """The tensorrt module's version; None when it is not installed. Raises Art2MusError when it is
    installed but does not load (a missing libnvinfer, say)."""
    try:
        return str(importlib.import_module("tensorrt").__version__)
    except ImportError as exc:
        if exc.name == "tensorrt":
            return None
        raise Art2MusError(f"the tensorrt module is installed but does not load: {exc}") from None
    except Exception as exc:
        raise Art2MusError(f"the tensorrt module is installed but does not load: {type(exc).__name__}: {exc}") from None


def engine_folders(bundle_root: Path) -> list[Path]:
    root = bundle_root / "engines"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def engines_for_box(m: ModelConfig) -> tuple[str, bool]:
    """(one line on the bundle's TensorRT engines, whether every stage has an engine matching this box).
    The match is the TensorRT backend's own check (engines_status: GPU, TensorRT version, build metadata)."""
    from engines.bundle import load_bundle

    root = bundle_path(m)
    folders = engine_folders(root)
    listed = "engines: " + ", ".join(f"{f.name} ({len(list(f.glob('*.plan')))} plans)" for f in folders) \
        if folders else "no engines/ in the bundle"
    if not folders and m.backend != "tensorrt":
        return listed, False
    if not (root / MANIFEST).is_file():
        return f"{listed} (no bundle to check them against)", False
    try:
        bundle = load_bundle(root, verify=False)  # the bundle check verifies the hashes
    except Art2MusError:
        return f"{listed} (the bundle does not load, see the bundle check)", False
    from engines.tensorrt_backend import engine_folder, engines_status

    box, why_not = engines_status(bundle)
    if why_not is None:
        return f"{listed}; {engine_folder(bundle, box).name} matches this box", True
    return f"{listed}; no TensorRT engines for this box: {why_not}", False


def check_gpu(m: ModelConfig) -> Check:
    try:
        gpus = query_gpus()
    except Art2MusError as exc:
        return Check("gpu", Result.FAIL, str(exc),
                     "check the NVIDIA driver: run nvidia-smi by hand, look at `dmesg`, reboot after a driver update")
    trt = tensorrt_version()
    engines, usable = engines_for_box(m)
    detail = "; ".join([
        "; ".join(f"{g.name} (driver {g.driver}, compute {g.compute_cap})" for g in gpus) or "none (CPU kiosk)",
        f"TensorRT {trt}" if trt else "TensorRT not installed", engines])
    if m.backend == "tensorrt" and not usable:
        return Check("gpu", Result.WARN, detail if "no TensorRT engines" in detail
                     else f"{detail}; no TensorRT engines for this box",
                     ("" if trt else "pip install '.[gpu]', then ") +
                     "build them on this box: `art2mus build`; or set model.backend: auto")
    return Check("gpu", Result.OK, detail)


# camera -----------------------------------------------------------------------------------------
def sample_frames(source, seconds: float = CAMERA_SECONDS, grace: float = CAMERA_GRACE_SECONDS) -> FrameSample:
    """Reads frames for `seconds` in a helper thread, so a camera that blocks in read() is reported
    as hung instead of hanging the doctor."""
    seen = {"frames": 0, "size": None, "error": None}

    def read() -> None:
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline and not getattr(source, "finished", False):
                frame = source.read()
                if isinstance(frame, np.ndarray) and frame.ndim >= 2 and frame.size:
                    seen["frames"] += 1
                    seen["size"] = (int(frame.shape[1]), int(frame.shape[0]))
        except Exception as exc:  # reported by the check, not as a thread's traceback
            seen["error"] = f"{type(exc).__name__}: {exc}"

    start = time.monotonic()
    reader = threading.Thread(target=read, name="doctor-camera", daemon=True)
    reader.start()
    reader.join(seconds + grace)
    return FrameSample(seen["frames"], time.monotonic() - start, seen["size"], reader.is_alive(), seen["error"])


def check_camera(cfg: Config) -> Check:
    from installation.camera.sources import make_source
    from installation.catalog import load_catalog, recognizer_for

    try:
        catalog = load_catalog(cfg.catalog.folder)
    except Art2MusError as exc:
        return Check("camera", Result.FAIL, f"catalog: {exc}",
                     "set catalog.folder to a folder of the artworks' images (file stem = artwork id)")
    if not catalog.artworks:
        return Check("camera", Result.FAIL, f"catalog folder {cfg.catalog.folder!r} has no artwork images",
                     "put the artworks' images (jpg, png, ...) in it; each file's stem is the artwork id")
    try:  # the camera's recogniser, its catalog's look-alikes learnt (and cached: the camera then starts at once)
        learnt = recognizer_for(catalog).learnt
    except Art2MusError as exc:
        return Check("camera", Result.FAIL, f"recognition: {exc}", "reinstall art2mus (pip install .)")
    source_fix = ("check camera.source (a device index such as 0, /dev/videoN, a video file or a GStreamer pipeline); "
                  "is the camera plugged in, and not held by a running kiosk (`art2mus status`)?")
    source = make_source(cfg.camera, catalog)
    try:
        source.open()
    except Art2MusError as exc:
        return Check("camera", Result.FAIL, str(exc), source_fix)
    sample = sample_frames(source)
    if not sample.hung:  # a reader still blocked in read() would crash on a released capture
        _close_quietly(source)
    what = f"camera.source={cfg.camera.source!r}"
    if sample.hung:
        return Check("camera", Result.FAIL, f"{what}: a frame read did not return within "
                     f"{CAMERA_SECONDS + CAMERA_GRACE_SECONDS:g} s (a hung camera)", source_fix)
    if sample.error:
        return Check("camera", Result.FAIL, f"{what}: reading a frame raised {sample.error}", source_fix)
    if not sample.frames:
        return Check("camera", Result.FAIL, f"{what} opened but delivered no frame in {sample.seconds:.1f} s",
                     source_fix)
    fps = sample.frames / sample.seconds
    w, h = sample.size
    detail = (f"{what}: {sample.frames} frames in {sample.seconds:.1f} s ({fps:.1f} fps), {w}x{h}; "
              f"catalog {catalog.folder}: {len(catalog.artworks)} artworks, " +
              (f"verifier refitted on {len(learnt.rows)} look-alike pairs of {learnt.frames} works" if len(learnt.rows)
               else "no look-alikes (the verifier as shipped)"))
    if catalog.errors:
        return Check("camera", Result.WARN, f"{detail}; {len(catalog.errors)} unusable image(s): {catalog.errors[0]}",
                     "replace or remove the images named (the others are recognised)")
    if learnt.copies:
        return Check("camera", Result.WARN, f"{detail}; {len(learnt.copies)} pair(s) of images show the same picture, "
                     f"which the camera cannot tell apart: {', '.join(f'{a} = {b}' for a, b in learnt.copies)}",
                     "keep one image of each pair in the catalog folder")
    if fps < cfg.camera.recognition_hz:
        return Check("camera", Result.WARN, f"{detail}; slower than camera.recognition_hz="
                     f"{cfg.camera.recognition_hz:g}",
                     "check the camera's light and USB bandwidth, or lower camera.recognition_hz")
    return Check("camera", Result.OK, detail)


def _close_quietly(source) -> None:
    try:
        source.close()
    except Exception as exc:  # closing a broken camera may fail too; the check has its answer already
        log.debug("doctor: closing the camera failed: %s", exc)


# audio ------------------------------------------------------------------------------------------
def _existing_ancestor(path: Path) -> Path:
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_file_sink(sink: str) -> Check:
    path = Path(sink[len("file:"):]).expanduser()
    if path.suffix.lower() != ".wav":
        return Check("audio", Result.FAIL, f"audio.sink={sink!r}: a file sink must end in .wav",
                     "write it as file:PATH.wav")
    if path.is_dir():
        return Check("audio", Result.FAIL, f"audio.sink={sink!r} is a folder", "name a .wav file in it")
    if path.exists() and not os.access(path, os.W_OK):
        return Check("audio", Result.FAIL, f"audio.sink={sink!r}: {path} exists and is not writable",
                     "fix its permissions or point audio.sink elsewhere")
    folder = _existing_ancestor(path.parent)
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return Check("audio", Result.FAIL, f"audio.sink={sink!r}: {folder} is not a writable folder",
                     "point audio.sink at a writable folder (or fix its permissions)")
    made = "" if folder == path.parent.absolute() else f" ({path.parent} will be created in {folder})"
    return Check("audio", Result.OK, f"file sink {path}: folder writable{made}")


def check_device_sink(sink: str, rate: int, channels: int, block: int) -> Check:
    try:
        import sounddevice as sd
    except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
        return Check("audio", Result.FAIL, f"audio.sink={sink!r} needs the PortAudio library, which is missing ({exc})",
                     "apt-get install libportaudio2 (or set audio.sink to file:PATH.wav on a box without speakers)")
    from installation.audio.sinks import find_device

    try:
        index = find_device(sink)
    except Art2MusError as exc:
        return Check("audio", Result.FAIL, str(exc),
                     "set audio.sink to one of the outputs listed (part of the name will do), or file:PATH.wav")
    name = sd.query_devices(index)["name"]
    calls = [0]

    def silence(outdata, frames, time_info, status) -> None:
        outdata.fill(0)
        calls[0] += 1

    try:
        with sd.OutputStream(device=index, samplerate=rate, channels=channels, dtype="float32", blocksize=block,
                             callback=silence):
            time.sleep(STREAM_SECONDS)
    except sd.PortAudioError as exc:
        return Check("audio", Result.FAIL, f"device {name!r} (index {index}) would not open at {rate} Hz, "
                     f"{channels} channels: {exc}",
                     "check audio.sample_rate and audio.channels against the device; is a running kiosk "
                     "holding it (`art2mus status`)?")
    if not calls[0]:
        return Check("audio", Result.FAIL, f"device {name!r} (index {index}) opened but asked for no audio in "
                     f"{STREAM_SECONDS:g} s (a stalled device)", "check the sound card and its driver; replug it")
    return Check("audio", Result.OK, f"device {name!r} (index {index}) for audio.sink={sink!r}: plays at {rate} Hz, "
                 f"{channels} channels ({calls[0]} callbacks of {block} frames in {STREAM_SECONDS:g} s)")


def check_audio(cfg: Config) -> Check:
    a = cfg.audio
    if a.sink.startswith("file:"):
        return check_file_sink(a.sink)
    return check_device_sink(a.sink, a.sample_rate, a.channels, a.block)


# endpoints --------------------------------------------------------------------------------------
def _ipc_endpoint_problem(endpoint: str) -> str | None:
    """ZeroMQ's ipc bind deletes a socket file that is in the way, so binding would steal a running
    kiosk's socket: for ipc:// only look (connect to the file) and never bind."""
    path = Path(endpoint[len("ipc://"):])
    if path.exists():
        probe = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
            return "taken"
        except OSError:
            return None  # a stale file from a stopped kiosk: ZeroMQ replaces it
        finally:
            probe.close()
    if not path.parent.is_dir():
        return f"folder {path.parent} does not exist"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"folder {path.parent} is not writable"
    return None


def check_endpoints(cfg: Config) -> Check:
    """Every ipc endpoint is bound by one kiosk process (camera, audio, generator, supervisor)."""
    import zmq

    from installation import messages

    taken, broken = [], []
    ctx = zmq.Context()
    try:
        for key, endpoint in cfg.ipc.model_dump().items():
            if endpoint.startswith("ipc://"):
                problem = _ipc_endpoint_problem(endpoint)
                if problem == "taken":
                    taken.append(f"ipc.{key} {endpoint}")
                elif problem:
                    broken.append(f"ipc.{key} {endpoint}: {problem}")
                continue
            try:
                messages.socket(ctx, zmq.PUB, endpoint, bind=True).close()
            except Art2MusError as exc:
                if "in use" in str(exc):
                    taken.append(f"ipc.{key} {endpoint}")
                else:
                    broken.append(f"ipc.{key} {endpoint}: {str(exc).split('; ')[0]}")
    finally:
        ctx.term()
    if taken:
        return Check("endpoints", Result.FAIL, f"{', '.join(taken)} already bound by another process", TAKEN_FIX)
    if broken:
        return Check("endpoints", Result.FAIL, "; ".join(broken),
                     "fix ipc.* in the config: tcp://127.0.0.1:PORT, or ipc:///run/art2mus/NAME in an existing "
                     "folder (systemd: RuntimeDirectory=art2mus)")
    return Check("endpoints", Result.OK, f"{len(cfg.ipc.model_dump())} free: " +
                 ", ".join(cfg.ipc.model_dump().values()))


# disk -------------------------------------------------------------------------------------------
def disk_paths(cfg: Config) -> dict[str, Path]:
    """Where the kiosk writes (or keeps what it reads at runtime): config key -> folder."""
    paths = {"generator.cache": cfg.generator.cache_dir}
    if cfg.audio.playlists:
        paths["audio.playlists"] = Path(cfg.audio.playlists).expanduser()
    if cfg.audio.sink.startswith("file:"):
        paths["audio.sink"] = Path(cfg.audio.sink[len("file:"):]).expanduser().parent
    return paths


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def check_disk(cfg: Config) -> Check:
    by_disk: dict[int, tuple[Path, int, list[str]]] = {}
    for key, path in disk_paths(cfg).items():
        where = _existing_ancestor(path)
        dev = where.stat().st_dev
        if dev not in by_disk:
            by_disk[dev] = (where, shutil.disk_usage(where).free, [])
        by_disk[dev][2].append(key)
    parts, worst = [], Result.OK
    for where, free, keys in by_disk.values():
        parts.append(f"{', '.join(keys)}: {_size(free)} free ({where})")
        if free < DISK_FAIL_BYTES:
            worst = Result.FAIL
        elif free < DISK_WARN_BYTES and worst is Result.OK:
            worst = Result.WARN
    detail = "; ".join(parts)
    if worst is Result.OK:
        return Check("disk", worst, detail)
    limit = "under 100 MB" if worst is Result.FAIL else "under 1 GB"
    return Check("disk", worst, f"{detail}; {limit} free",
                 "free space on that disk (old clips, logs), or point those keys at a larger disk")


# generation -------------------------------------------------------------------------------------
def doctor_picture() -> np.ndarray:
    """A synthetic artwork as float RGB in [0, 1] (the same picture every run)."""
    from installation.camera.synthetic import artwork

    return np.ascontiguousarray(artwork(0)[:, :, ::-1], dtype=np.float32) / 255.0


def check_generation(m: ModelConfig) -> Check:
    from engines.options import GenerationOptions
    from installation.generator.model import open_pipeline
    from installation.generator.process import warm_up

    options = GenerationOptions(m.clip_seconds, m.steps, m.guidance, m.scheduler, seed=0, origin="config model")
    try:
        pipe = open_pipeline(m, str(bundle_path(m)))
        warm = warm_up(pipe, options)
        pipe.times.seconds.clear()
        pipe.times.calls.clear()
        pixels = pipe.pixels(doctor_picture())
        start = time.perf_counter()
        (wave,) = pipe.generate(pixels, options)
        wall = time.perf_counter() - start
    except Art2MusError as exc:
        return Check("generation", Result.FAIL, str(exc),
                     "fix the bundle or the model.* settings named; `art2mus generate IMAGE --out x.wav` repeats it")
    audio_s = len(wave) / pipe.bundle.audio.sample_rate
    rtf = wall / audio_s
    t = pipe.times
    stages = ", ".join(f"{s} {1000 * t.seconds[s] / t.calls[s]:.1f} ms" + (f" x{t.calls[s]}" if t.calls[s] > 1 else "")
                       for s in pipe.engines if t.calls.get(s))
    providers = ", ".join(sorted({e.provider.split(" (")[0] for e in pipe.engines.values()}))
    int8 = [s for s, e in pipe.engines.items() if getattr(e, "variant", None)]
    if int8:
        providers += f" (int8: {', '.join(int8)})"
    detail = (f"rtf {rtf:.3f}: {audio_s:.2f} s of audio in {wall:.2f} s ({options.steps} steps {options.scheduler}, "
              f"warm-up {warm:.2f} s); per call: {stages}; on {providers}")
    on_cpu = all(e.provider.startswith("CPU") for e in pipe.engines.values())
    if on_cpu and m.provider != "cpu" and gpu_present():  # a silent fallback is made visible here
        return Check("generation", Result.WARN, f"{detail}; on the CPU although this box has an NVIDIA GPU",
                     "see the onnxruntime check and the log's provider warnings (CUDA/cuDNN libraries found?)")
    if rtf > 1:
        return Check("generation", Result.WARN, f"{detail}; slower than real time, playlists will carry the kiosk",
                     "fewer model.steps, model.int8_stages on a CPU, a GPU provider, and playlists "
                     "(audio.playlists) for instant music")
    return Check("generation", Result.OK, detail)


# all of them ------------------------------------------------------------------------------------
def guarded(name: str, check, *args) -> Check:
    """Runs one check; one that raises is a FAIL with the exception's text (the traceback in the debug log)."""
    log.info("doctor: checking %s", name)
    try:
        return check(*args)
    except Exception as exc:
        log.debug("doctor: the %s check raised", name, exc_info=True)
        return Check(name, Result.FAIL, f"the check raised {type(exc).__name__}: {exc}",
                     "see `art2mus -v doctor` for the traceback; report it if the cause is not clear")


def run_checks(cfg: Config, source: str, generate: bool = True) -> list[Check]:
    checks = [guarded("config", check_config, source)]
    bundle = guarded("bundle", check_bundle, cfg.model)
    checks += [
        bundle,
        guarded("onnxruntime", check_onnxruntime, cfg.model),
        guarded("gpu", check_gpu, cfg.model),
        guarded("camera", check_camera, cfg),
        guarded("audio", check_audio, cfg),
        guarded("endpoints", check_endpoints, cfg),
        guarded("disk", check_disk, cfg),
    ]
    runnable = bundle.result is not Result.FAIL and (bundle_path(cfg.model) / MANIFEST).is_file()
    if not runnable:
        checks.append(Check("generation", Result.WARN, "skipped: no usable bundle (see the bundle check)",
                            "fix the bundle first"))
    elif not generate:
        checks.append(Check("generation", Result.WARN, "skipped (--no-generate): the real-time factor is unknown",
                            "run `art2mus doctor` without --no-generate (it generates one clip)"))
    else:
        checks.append(guarded("generation", check_generation, cfg.model))
    return checks


def healthy(checks: list[Check]) -> bool:
    return all(c.result is not Result.FAIL for c in checks)


def as_json(checks: list[Check]) -> dict:
    return {"ok": healthy(checks), "checks": [c.as_dict() for c in checks]}


def format_table(checks: list[Check]) -> str:
    """Plain columns: check, result, detail; a WARN or FAIL has its fix on the line below its detail."""
    name_w = max(len("check"), *(len(c.name) for c in checks))
    result_w = max(len("result"), *(len(c.result.value) for c in checks))
    pad = " " * (name_w + result_w + 4)
    lines = [f"{'check':<{name_w}}  {'result':<{result_w}}  detail / fix"]
    for c in checks:
        lines.append(f"{c.name:<{name_w}}  {c.result.value:<{result_w}}  {c.detail}")
        if c.fix and c.result is not Result.OK:
            lines.append(f"{pad}fix: {c.fix}")
    counts = {r: sum(c.result is r for c in checks) for r in Result}
    lines.append(f"{counts[Result.OK]} OK, {counts[Result.WARN]} WARN, {counts[Result.FAIL]} FAIL")
    return "\n".join(lines)
