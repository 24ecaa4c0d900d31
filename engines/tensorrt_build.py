"""`art2mus build`: the bundle's ONNX graphs -> TensorRT engines for this GPU, on the box itself.

    BUNDLE/engines/sm<major><minor>-trt<version>/<stage>.plan    the serialised engine
    BUNDLE/engines/sm<major><minor>-trt<version>/<stage>.json    its build metadata (written last)
    BUNDLE/engines/sm<major><minor>-trt<version>/timing.cache    the builder's timing cache for this GPU

Networks are strongly typed: reduced precision comes from the graph (the fp16 variants of
`art2mus export --fp16`), never from builder flags, which TensorRT 11 removed. The same code builds
on TensorRT 10.x (JetPack 6 ships 10.3) and 11.x. Every input gets an explicit optimisation profile:
the latent length spans the clip lengths this bundle allows (1 s to limits.max_seconds, tuned for
defaults.seconds), the guided batch is the stages' fixed 2, the T5 length is the shipped
constants'. An engine is rebuilt when any part of its metadata (ONNX sha256, variant, profiles,
TensorRT version, GPU, builder settings) differs from what this build would write.

No torch here: engines are built on the kiosk box. tensorrt and cuda-python are imported only when
a build or a GPU query runs; when either (or a GPU) is missing, the error names what is missing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from engines.bundle import Bundle, file_sha256
from engines.errors import Art2MusError
from engines.specs import STAGES

log = logging.getLogger(__name__)

ENGINE_FORMAT = 1
MIN_SECONDS = 1.0  # the shortest clip an engine's profile covers
DEFAULT_WORKSPACE_GB = 4.0
OPTIMIZATION_LEVEL = 3  # TensorRT's default: 0-5, higher searches longer
TIMING_CACHE = "timing.cache"
GPU_EXTRA = "pip install '.[gpu]' (on a Jetson: JetPack's python3-libnvinfer and pip install cuda-python)"


# ---- this box: GPU and TensorRT ---------------------------------------------------------------

@dataclass(frozen=True)
class Gpu:
    name: str
    compute_capability: tuple[int, int]
    memory_gb: float
    integrated: bool  # Jetson: GPU and CPU share memory

    @property
    def sm(self) -> str:
        return f"sm{self.compute_capability[0]}{self.compute_capability[1]}"


@dataclass(frozen=True)
class Box:
    gpu: Gpu
    tensorrt: str  # tensorrt.__version__

    @property
    def key(self) -> str:
        return engine_key(self.gpu.sm, self.tensorrt)


def engine_key(sm: str, tensorrt_version: str) -> str:
    """The engines folder of one GPU architecture and TensorRT version, e.g. 'sm90-trt10.13.3.9'."""
    return f"{sm}-trt{tensorrt_version}"


def cudart():
    """CUDA's runtime API from cuda-python (cuda.bindings since 12.6, cuda.cudart before)."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        from cuda import cudart as runtime  # older cuda-python
    return runtime


def check(result, what: str):
    """cuda-python returns (error, values...): raise on an error, return the values."""
    err, *values = result if isinstance(result, tuple) else (result,)
    rt = cudart()
    if err != rt.cudaError_t.cudaSuccess:
        name = rt.cudaGetErrorName(err)[1]
        raise Art2MusError(f"CUDA {what} failed: {name.decode() if isinstance(name, bytes) else name}")
    return values[0] if len(values) == 1 else tuple(values)


def _missing_import(module: str) -> str | None:
    try:
        if module == "cuda-python":
            cudart()
        else:
            __import__(module)
    except ImportError as exc:
        return f"{module} ({exc})"
    except Exception as exc:  # a broken install (missing libnvinfer, CUDA driver) raises OSError and such
        return f"{module} (import failed: {exc})"
    return None


def detect_box() -> Box:
    """This box's GPU 0 and TensorRT, or one Art2MusError naming everything that is missing."""
    no_cuda = _missing_import("cuda-python")
    missing = [m for m in (_missing_import("tensorrt"), no_cuda) if m]
    gpu = None
    if not no_cuda:
        try:
            gpu = detect_gpu()
        except Art2MusError as exc:
            missing.append(str(exc))
    if missing:
        raise Art2MusError(f"TensorRT engines need an NVIDIA GPU with TensorRT and cuda-python; missing: "
                           f"{'; '.join(missing)}. Install them: {GPU_EXTRA}; or set model.backend: onnxruntime")
    import tensorrt as trt

    if int(trt.__version__.split(".")[0]) < 10:
        raise Art2MusError(f"TensorRT {trt.__version__} is too old: engines need TensorRT 10 or later (JetPack 6.1+ "
                           f"ships 10.3); upgrade it, or set model.backend: onnxruntime")
    return Box(gpu, trt.__version__)


def detect_gpu(device: int = 0) -> Gpu:
    rt = cudart()
    try:
        count = check(rt.cudaGetDeviceCount(), "device count")
    except Art2MusError as exc:
        raise Art2MusError(f"no usable CUDA GPU ({exc}: no NVIDIA driver or no device)") from None
    if count < 1:
        raise Art2MusError("no CUDA GPU on this box")
    prop = check(rt.cudaGetDeviceProperties(device), "device properties")
    name = prop.name.decode(errors="replace").rstrip("\x00") if isinstance(prop.name, bytes) else str(prop.name)
    return Gpu(name=name, compute_capability=(int(prop.major), int(prop.minor)),
               memory_gb=round(prop.totalGlobalMem / 2**30, 1), integrated=bool(prop.integrated))


# ---- what an engine is built for ---------------------------------------------------------------

@dataclass(frozen=True)
class BuildSettings:
    workspace_gb: float = DEFAULT_WORKSPACE_GB
    optimization_level: int = OPTIMIZATION_LEVEL
    max_seconds: float | None = None  # None: the bundle's limits.max_seconds

    def to_json(self) -> dict:
        return {**asdict(self), "strongly_typed": True}


def default_workspace_gb(gpu: Gpu) -> float:
    """A quarter of GPU memory, at most 4 GB: on a Jetson the GPU shares RAM with the OS and the kiosk."""
    return max(0.5, min(DEFAULT_WORKSPACE_GB, round(gpu.memory_gb / 4, 1)))


def latent_frames(bundle: Bundle, seconds: float) -> int:
    """Latent frames of a clip of `seconds`, as the pipeline computes them."""
    from engines.pipeline import Art2MusPipeline

    return Art2MusPipeline(bundle, {}).clip_shape(seconds).latent_frames


def profile_shapes(bundle: Bundle, stage: str, max_seconds: float | None = None) -> dict[str, list[list[int]]]:
    """Input name -> [min, opt, max] shapes of the stage's one optimisation profile."""
    top = min(max_seconds or bundle.max_seconds, bundle.max_seconds)
    if top < MIN_SECONDS:
        raise Art2MusError(f"--max-seconds {top:g} is below the shortest clip an engine covers ({MIN_SECONDS:g} s)")
    frames = [latent_frames(bundle, MIN_SECONDS), latent_frames(bundle, min(bundle.default_seconds, top)),
              latent_frames(bundle, top)]
    t5 = int(bundle.constants["t5_tokens"].shape[1])
    axes = {"latent_frames": frames, "t5_length": [t5, t5, t5]}
    shapes = {}
    for tensor in bundle.specs[stage].inputs:
        shape = [[], [], []]
        for dim in tensor.shape:
            if isinstance(dim, int):
                values = [dim, dim, dim]
            elif dim in axes:
                values = axes[dim]
            else:
                raise Art2MusError(f"{stage} input {tensor.name} has a dimension {dim!r} that no profile covers; "
                                   "re-export the bundle with this art2mus version")
            for k in range(3):
                shape[k].append(int(values[k]))
        shapes[tensor.name] = shape
    return shapes


def onnx_files(bundle: Bundle, stage: str, variant: str | None) -> dict:
    entry = bundle.manifest["stages"][stage]
    graph = entry["variants"][variant] if variant else entry
    return {"file": graph["file"], "sha256": graph["sha256"], "data_sha256": [d["sha256"] for d in graph.get("data_files", [])]}


def wanted_metadata(bundle: Bundle, stage: str, box: Box, settings: BuildSettings) -> dict:
    """What a build of `stage` on this box with `settings` writes beside the plan."""
    variant = bundle.gpu_variant(stage)
    return {
        "format": ENGINE_FORMAT,
        "stage": stage,
        "variant": variant or "fp32",
        "onnx": onnx_files(bundle, stage, variant),
        "profiles": profile_shapes(bundle, stage, settings.max_seconds),
        "tensorrt": box.tensorrt,
        "gpu": {"name": box.gpu.name, "compute_capability": list(box.gpu.compute_capability)},
        "builder": settings.to_json(),
    }


NOT_COMPARED = ("built", "plan_sha256")  # written after the build; the plan hash is checked against the file
RUNTIME_KEYS = ("format", "stage", "variant", "onnx", "tensorrt", "gpu")  # what must match to *run* an engine


def differences(have: dict | None, want: dict, keys=None) -> list[str]:
    """The metadata entries that differ, as 'key: had -> wants' (one level into dicts, so a changed
    workspace reads 'builder.workspace_gb: 2.0 -> 4.0'); empty: the engine matches."""
    if have is None:
        return ["no engine built yet"]
    out = []
    for key in keys or sorted(set(have) | set(want)):
        if key in NOT_COMPARED or have.get(key) == want.get(key):
            continue
        a, b = have.get(key), want.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{k}: {_short(a.get(k))} -> {_short(b.get(k))}" for k in sorted(set(a) | set(b))
                    if a.get(k) != b.get(k)]
        else:
            out.append(f"{key}: {_short(a)} -> {_short(b)}")
    return out


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


def plan_path(folder: Path, stage: str) -> Path:
    return folder / f"{stage}.plan"


def metadata_path(folder: Path, stage: str) -> Path:
    return folder / f"{stage}.json"


def read_metadata(folder: Path, stage: str) -> dict | None:
    """The metadata of a built engine, or None when the plan or its metadata is missing or unreadable."""
    meta, plan = metadata_path(folder, stage), plan_path(folder, stage)
    if not (meta.is_file() and plan.is_file()):
        return None
    try:
        data = json.loads(meta.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError):
        return None
    return data if isinstance(data, dict) else None


def rebuild_reasons(folder: Path, stage: str, want: dict) -> list[str]:
    have = read_metadata(folder, stage)
    reasons = differences(have, want)
    if have is not None and not reasons and have.get("plan_sha256") != file_sha256(plan_path(folder, stage)):
        reasons.append("plan file changed since it was built")
    return reasons


# ---- the build -----------------------------------------------------------------------------------

def rebuild_command(bundle: Bundle, stages=None) -> str:
    only = f" --stages {' '.join(stages)}" if stages and tuple(stages) != STAGES else ""
    return f"art2mus build --bundle {bundle.root}{only}"


@dataclass(frozen=True)
class BuildResult:
    stage: str
    built: bool
    seconds: float
    reasons: tuple[str, ...]
    plan: Path


def build_engines(bundle: Bundle, stages=STAGES, settings: BuildSettings | None = None, force: bool = False,
                  progress: Callable[[str], None] | None = None, box: Box | None = None) -> list[BuildResult]:
    """Builds (or keeps, when its metadata matches) the engine of each stage for this box."""
    box = box or detect_box()
    settings = settings or BuildSettings(workspace_gb=default_workspace_gb(box.gpu))
    for stage in stages:
        if stage not in STAGES:
            raise Art2MusError(f"--stages lists {stage!r}; stages are {', '.join(STAGES)}")
    folder = bundle.engines_root / box.key
    folder.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda line: log.info("%s", line))
    say(f"building for {box.gpu.name} ({box.gpu.sm}, {box.gpu.memory_gb:g} GB), TensorRT {box.tensorrt}, "
        f"workspace {settings.workspace_gb:g} GB, optimisation level {settings.optimization_level} -> {folder}")
    results = []
    for stage in stages:
        want = wanted_metadata(bundle, stage, box, settings)
        reasons = ["--force"] if force else rebuild_reasons(folder, stage, want)
        if not reasons:
            say(f"{stage}: up to date ({want['variant']})")
            results.append(BuildResult(stage, False, 0.0, (), plan_path(folder, stage)))
            continue
        say(f"{stage}: building {want['variant']} ({'; '.join(reasons)})")
        start = time.perf_counter()
        _build_one(bundle, stage, want, settings, folder, say)
        seconds = time.perf_counter() - start
        say(f"{stage}: built in {seconds:.0f} s")
        results.append(BuildResult(stage, True, seconds, tuple(reasons), plan_path(folder, stage)))
    return results


def network_flags(trt) -> int:
    """Strongly typed on both 10.x (a creation flag) and 11.x (always; the flag may be gone)."""
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    return 0 if flag is None else 1 << int(flag)


def _trt_logger(trt):
    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)

        def log(self, severity, msg):
            level = {trt.ILogger.Severity.INTERNAL_ERROR: logging.ERROR, trt.ILogger.Severity.ERROR: logging.ERROR,
                     trt.ILogger.Severity.WARNING: logging.WARNING}.get(severity, logging.DEBUG)
            logging.getLogger("tensorrt").log(level, "%s", msg)

    return Logger()


def _progress_monitor(trt, say: Callable[[str], None], stage: str):
    """Prints TensorRT's top-level build phases with their step counts (a build takes minutes)."""

    class Monitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self.start = time.perf_counter()
            self.steps: dict[str, int] = {}
            self.last = 0.0

        def phase_start(self, phase_name, parent_phase, num_steps):
            self.steps[phase_name] = num_steps
            if parent_phase is None:
                say(f"{stage}: {phase_name} ({num_steps} steps)")

        def step_complete(self, phase_name, step):
            now = time.perf_counter()
            if now - self.last > 10:
                self.last = now
                say(f"{stage}: {phase_name} {step + 1}/{self.steps.get(phase_name, '?')} ({now - self.start:.0f} s)")
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            pass

    return Monitor()


def _build_one(bundle: Bundle, stage: str, want: dict, settings: BuildSettings, folder: Path, say) -> None:
    import tensorrt as trt

    logger = _trt_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    onnx_path = bundle.root / want["onnx"]["file"]
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise Art2MusError(f"{stage}: TensorRT could not parse {onnx_path}: {errors}; re-export the bundle "
                           "with this art2mus version, or run this stage on onnxruntime")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(settings.workspace_gb * 2**30))
    config.builder_optimization_level = settings.optimization_level
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in want["profiles"].items():
        profile.set_shape(name, lo, opt, hi)
    config.add_optimization_profile(profile)
    cache_file = folder / TIMING_CACHE
    cache = config.create_timing_cache(cache_file.read_bytes() if cache_file.is_file() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    if hasattr(config, "progress_monitor"):
        config.progress_monitor = _progress_monitor(trt, say, stage)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise Art2MusError(f"{stage}: TensorRT failed to build an engine from {onnx_path} (its log above says why); "
                           f"a larger --workspace-gb or a shorter --max-seconds may help")
    _write_atomic(cache_file, bytes(config.get_timing_cache().serialize()))
    plan = plan_path(folder, stage)
    meta = metadata_path(folder, stage)
    if meta.exists():
        meta.unlink()  # a half-replaced engine never looks built
    _write_atomic(plan, bytes(serialized))
    want = {**want, "plan_sha256": file_sha256(plan), "built": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _write_atomic(meta, json.dumps(want, indent=2).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)
