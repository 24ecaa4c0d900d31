"""Session-scoped tiny model: one checkpoint and one bundle (exported through the CLI) per test run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# CI runs the fuzz suites with a fixed seed (the same examples every run: a red CI is a regression, not
# luck); benchmarks/fuzz_long.py and local runs explore new examples.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from export.tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny-checkpoint"))


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, tiny_checkpoint) -> Path:
    from installation.cli import main

    out = tmp_path_factory.mktemp("bundles") / "tiny"
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def pipeline(tiny_bundle):
    """The exact (fp32) pipeline; the int8 UNet is tested on its own tolerance."""
    from engines.pipeline import Art2MusPipeline

    return Art2MusPipeline.load(tiny_bundle)


@pytest.fixture(scope="session")
def artwork(tmp_path_factory) -> Path:
    import cv2

    from installation.demo import composition

    path = tmp_path_factory.mktemp("art") / "composition.png"
    cv2.imwrite(str(path), composition(np.random.default_rng(3)))
    return path


def clear_stale_jack() -> None:
    """JACK keeps a registry of at most 8 servers in /dev/shm; a server that was killed leaves its
    entry behind, and after a few the next jackd says 'Too many servers already active'. With no
    jackd running, every entry there is stale."""
    import glob
    import subprocess

    if subprocess.run(["pgrep", "-x", "jackd"], capture_output=True).returncode == 0:
        return
    for path in glob.glob("/dev/shm/jack-*") + glob.glob("/dev/shm/jack_*"):
        try:
            os.unlink(path)
        except OSError:
            pass


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory):
    """A real JACK server with its dummy driver (paced like a sound card), started and stopped here; its log
    (`log`: which client made each xrun late) in a file, as a pipe nobody reads would fill and stall it.
    On CI (.ci/run installs jackd2) a missing jackd is a failure, elsewhere a skip."""
    import shutil
    import subprocess
    import time

    if shutil.which("jackd") is None:
        if os.environ.get("CI"):
            pytest.fail("jackd is not installed; .ci/run installs jackd2 and libportaudio2")
        pytest.skip("jackd is not installed (apt-get install jackd2 libportaudio2)")
    clear_stale_jack()
    env = {**os.environ, "JACK_NO_AUDIO_RESERVATION": "1", "JACK_NO_START_SERVER": "1"}
    log = tmp_path_factory.mktemp("jackd") / "jackd.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(["jackd", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "1024"], env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    server.log = log
    import jack

    deadline = time.monotonic() + 15
    while True:
        try:
            jack.Client("art2mus-probe", no_start_server=True).close()
            break
        except jack.JackError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"jackd did not start: {log.read_text(errors='replace')[-500:]}")
            time.sleep(0.2)
    yield server
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
