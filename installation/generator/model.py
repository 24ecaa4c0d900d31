"""Which bundle to run (the configured one, or the tiny demo bundle built once into the cache) and
the pipeline on it with the configured backend settings."""

from __future__ import annotations

import fcntl
import logging
from contextlib import contextmanager
from pathlib import Path

from engines.bundle import FORMAT_VERSION, MANIFEST
from engines.errors import Art2MusError
from engines.pipeline import Art2MusPipeline
from installation.config import ModelConfig

log = logging.getLogger(__name__)


def tiny_bundle_path(cfg: ModelConfig) -> Path:
    return cfg.cache_dir / f"tiny-bundle-v{FORMAT_VERSION}"


@contextmanager
def quiet_libraries():
    """torch's exporter and ONNX Runtime's quantiser log warnings by the hundred (some through the
    root logger): none is actionable for a user building the demo bundle."""
    root, torch_log = logging.getLogger(), logging.getLogger("torch")
    saved = root.level, torch_log.level
    root.setLevel(max(root.level, logging.ERROR))
    torch_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(saved[0])
        torch_log.setLevel(saved[1])


def build_tiny_bundle(out: Path) -> None:
    """The one place the runtime reaches into export/ (torch): building the demo model once, with a
    progress bar (tqdm) on stderr."""
    try:
        from export.exporter import export_steps, export_tiny_bundle
    except ImportError as exc:
        raise Art2MusError(
            f"the tiny demo bundle is not built yet and building it needs the export extra ({exc.name} is missing): "
            "pip install '.[export]' torch==2.13.0, or give a bundle with --bundle / model.bundle"
        ) from None
    from tqdm import tqdm

    with tqdm(total=export_steps(True), desc="building the tiny demo bundle", unit="step", leave=False,
              bar_format="{desc}: {n}/{total} {bar} {elapsed}{postfix}") as bar:
        started: list[str] = []

        def step(name: str) -> None:  # called as each step starts: the one before it is done
            if started:
                bar.update(1)
            started.append(name)
            bar.set_postfix_str(name)

        with quiet_libraries():
            export_tiny_bundle(out, progress=step)
        bar.update(bar.total - bar.n)


def resolve_bundle(cfg: ModelConfig, override: str | None = None) -> Path:
    chosen = override or cfg.bundle
    if chosen:
        return Path(chosen).expanduser()
    path = tiny_bundle_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / "tiny-bundle.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two first runs at once build it once
        if not (path / MANIFEST).is_file():
            log.warning("no bundle configured: building the tiny random-weight demo bundle once into %s "
                        "(about a minute; it makes noise, not music)", path)
            build_tiny_bundle(path)
    log.info("no bundle configured: using the tiny random-weight demo bundle %s", path)
    return path


def open_pipeline(cfg: ModelConfig, override: str | None = None) -> Art2MusPipeline:
    """The pipeline on the configured (or given) bundle with the configured backend settings."""
    return Art2MusPipeline.load(resolve_bundle(cfg, override), cfg.backend, cfg.provider, cfg.threads,
                                cfg.verify_hashes, cfg.int8_stages, cfg.cache_dir)
