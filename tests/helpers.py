"""Small things several test modules need (imported as `from helpers import ...`)."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def free_ports(n: int) -> list[int]:
    """`n` distinct loopback ports that were free a moment ago (held open together, so never equal)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def faint(seed: int) -> np.ndarray:
    """A noise texture of little contrast, always in the same pale green: only its grain tells one from another."""
    rng = np.random.default_rng(seed)
    noise = cv2.resize(rng.random((61, 76, 3)).astype(np.float32), (600, 480), interpolation=cv2.INTER_CUBIC)
    noise = cv2.GaussianBlur(noise, (0, 0), 2)
    noise = (noise - noise.min()) / np.ptp(noise)
    lo, hi = np.float32([150, 190, 60]), np.float32([175, 215, 85])
    return (lo + (hi - lo) * noise).astype(np.uint8)


def benchmark_module(name: str):
    """A benchmark script imported as a module (its functions, not its main)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there (bench_recognition.Built)
    spec.loader.exec_module(module)
    return module
