"""Audio callback timing under load: the kiosk's audio process on a real JACK server (dummy
driver), fed a fresh clip every few seconds, with CPU-heavy processes beside it. Prints callback
duration p50/p99/max against the block period, and underruns.

    python3 benchmarks/bench_audio.py [--seconds 600] [--hogs 2] [--block 1024]

Target: zero underruns, p99 under 20 % of the block period. Needs jackd2 + libportaudio2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np

HOG = "import numpy as np\na = np.random.rand(600, 600)\nwhile True:\n    a = np.tanh(a @ a.T / 600)\n"


def start_jack(rate: int, period: int) -> subprocess.Popen | None:
    import jack

    try:
        jack.Client("bench-probe", no_start_server=True).close()
        return None  # one is running already
    except jack.JackError:
        pass
    if shutil.which("jackd") is None:
        sys.exit("jackd not found: apt-get install jackd2 libportaudio2")
    env = {**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"}
    server = subprocess.Popen(["jackd", "--no-realtime", "-d", "dummy", "-r", str(rate), "-p", str(period)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(75):
        try:
            jack.Client("bench-probe", no_start_server=True).close()
            return server
        except jack.JackError:
            time.sleep(0.2)
    sys.exit("jackd did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--hogs", type=int, default=2, help="CPU-heavy processes beside the audio process")
    parser.add_argument("--block", type=int, default=1024)
    parser.add_argument("--clip-every", type=float, default=5.0)
    args = parser.parse_args()
    server = start_jack(48000, args.block)
    hogs = [subprocess.Popen([sys.executable, "-c", HOG], env={**os.environ, "OMP_NUM_THREADS": "1",
                                                               "OPENBLAS_NUM_THREADS": "1"}) for _ in range(args.hogs)]
    from installation.audio.clips import prepare_clip
    from installation.audio.process import AudioProcess
    from installation.config import AudioConfig
    from installation.audio.mixer import Library

    cfg = AudioConfig(sink="system", block=args.block, crossfade_seconds=2.0)
    proc = AudioProcess(cfg, Library())
    proc.events.put(("artwork", "bench"))

    def feeder():  # clips arrive and are prepared off the mixer thread, as the receiver does
        rng, k = np.random.default_rng(0), 0
        while not proc.stop.wait(args.clip_every if k else 0):
            t = np.arange(16000 * 8) / 16000
            wave = (0.3 * np.sin(2 * np.pi * rng.uniform(150, 600) * t) + 0.01 * rng.standard_normal(t.size))
            proc.events.put(("clip", prepare_clip(wave.astype(np.float32), 16000, cfg, "bench", "fresh", f"c{k}")))
            k += 1

    threading.Thread(target=feeder, daemon=True).start()
    timer = threading.Timer(args.seconds, proc.stop.set)
    timer.start()
    try:
        proc.run()
    finally:
        for h in hogs:
            h.kill()
        if server:
            import sounddevice as sd

            sd._terminate()  # before its server goes, or PortAudio's JACK host asserts at exit
            server.terminate()
    st = proc.sink.stats
    n = min(st.count, st.durations.size)
    d = st.durations[:n] * 1000
    block_ms = 1000 * args.block / 48000
    print(f"{args.seconds:.0f} s on {proc.sink.device_name!r}, block {args.block} ({block_ms:.2f} ms), "
          f"{args.hogs} CPU hogs beside, {st.count} callbacks (percentiles over the last {n})")
    print(f"callback ms: p50 {np.percentile(d, 50):.4f}  p99 {np.percentile(d, 99):.4f}  max {d.max():.4f}  "
          f"(p99 = {100 * np.percentile(d, 99) / block_ms:.2f} % of the block period)")
    print(f"underruns: {st.underruns}; clips started: {proc.mixer.stats.started}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
