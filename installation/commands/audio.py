"""`art2mus audio`: the kiosk's audio process."""

from __future__ import annotations

import logging
import os
import sys

from installation.config import Config

HELP = "the kiosk's audio process (clips and artwork events over ZeroMQ -> speakers)"


def add_arguments(p) -> None:
    pass


def run(cfg: Config, args) -> int:
    from installation.audio.process import run_audio_process
    from installation.process import ExitCode

    code = run_audio_process(cfg)
    if code == ExitCode.DEVICE_LOST:
        # PortAudio may hang in its exit handler on a vanished device: leave at once for the supervisor.
        logging.shutdown()
        sys.stderr.flush()
        os._exit(code)
    return code
