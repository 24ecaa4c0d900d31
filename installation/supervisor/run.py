"""The supervisor, `art2mus run`: starts the kiosk's three processes, watches their heartbeats,
restarts what dies or hangs, answers `art2mus status`, and stops everything in order.

- Before anything starts, the config is checked for what would make a process fail at once
  (`preflight`): a catalog folder that is not there, a configured bundle that does not exist, a
  sound device name that matches nothing, an endpoint another program holds. Those end `run` with
  one clear line and exit 2: restarting would not mend them.
- Audio starts first (it plays playlist, cached or ambient clips on its own), then the generator
  and the camera, at lower priorities (audio nice 0, camera 5, generator 10).
- A child that exits is started again after a backoff (doubled after each quick failure, reset
  after `stable_seconds` of running); one that stops sending heartbeats for
  `heartbeat_timeout_seconds` (`start_timeout_seconds` while it loads) is killed (SIGKILL: works
  on a stopped process too) and started again. A child that exits with the config-error code is
  not restarted: the kiosk plays on without it and `status` shows its error; if that child is
  the audio process, nothing can be heard, and the supervisor stops with exit 2.
- systemd: READY=1 once the children are started, WATCHDOG=1 from this loop, STATUS= lines.
- SIGTERM/SIGINT: camera and generator stop, then audio fades out; exit 0.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import zmq

from engines.bundle import MANIFEST
from engines.errors import ConfigError
from installation import messages
from installation.catalog import IMAGE_SUFFIXES
from installation.config import Config
from installation.process import SUPERVISOR_ENV, ExitCode, SystemdNotifier, describe_exit, restartable

log = logging.getLogger(__name__)
ORDER = ("audio", "generator", "camera")  # audio first: it has something to play on its own
# The camera waits for the generator's first ready heartbeat (or its start timeout): a visitor's
# first artwork is then generated for at once instead of waiting for the model to load.
STARTS_AFTER = {"camera": "generator"}
NICE = {"audio": 0, "camera": 5, "generator": 10}
LOADING_STATES = ("starting", "loading", "warming")
LOOP_MS = 100


@dataclass
class Child:
    name: str
    heartbeat_endpoint: str
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    last_beat: float | None = None
    state: str = "not started"
    status: dict = field(default_factory=dict)
    restarts: int = 0
    backoff: float = 0.0
    next_start: float = 0.0
    last_exit: str | None = None
    error: str | None = None
    failed: bool = False  # a config error: not restarted
    artwork: str | None = None

    def to_json(self, now: float) -> dict:
        age = None if self.last_beat is None else round(now - self.last_beat, 2)
        return {"pid": self.proc.pid if self.proc and self.proc.poll() is None else None, "state": self.state,
                "restarts": self.restarts, "heartbeat_age_s": age, "last_exit": self.last_exit, "error": self.error,
                "failed": self.failed}


def _bind_test(ctx: zmq.Context, endpoint: str) -> str | None:
    try:
        messages.socket(ctx, zmq.PUB, endpoint, bind=True).close()
        return None
    except Exception as exc:  # noqa: BLE001 - every failure here is reported the same way
        return str(exc)


def preflight(cfg: Config, ctx: zmq.Context, skip_endpoints: tuple[str, ...] = ()) -> None:
    """Raises ConfigError naming every setting that would stop a process at once."""
    problems = []
    folder = Path(cfg.catalog.folder)
    if not folder.is_dir():
        problems.append(f"catalog.folder={cfg.catalog.folder!r} is not a folder; point it at the artwork images")
    elif not any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()):
        problems.append(f"catalog.folder={cfg.catalog.folder!r} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    if cfg.model.bundle and not (Path(cfg.model.bundle).expanduser() / MANIFEST).is_file():
        problems.append(f"model.bundle={cfg.model.bundle!r} is not a model bundle (no {MANIFEST}); "
                        "export one with `art2mus export` or set model.bundle: null for the demo bundle")
    problems += _sink_problems(cfg)
    for key, endpoint in cfg.ipc.model_dump().items():
        if endpoint in skip_endpoints:
            continue
        why = _bind_test(ctx, endpoint)
        if why:
            problems.append(f"ipc.{key}={endpoint!r} cannot be bound ({why}); is another kiosk running? "
                            "(`art2mus status`) or choose a free port")
    if problems:
        raise ConfigError("the kiosk cannot start:\n  " + "\n  ".join(problems))


def _sink_problems(cfg: Config) -> list[str]:
    sink = cfg.audio.sink
    if sink.startswith("file:"):
        parent = Path(sink[5:]).expanduser().resolve().parent
        while not parent.exists():
            parent = parent.parent
        if not os.access(parent, os.W_OK):
            return [f"audio.sink={sink!r}: {parent} is not writable; point the file sink at a writable folder"]
        return []
    try:
        from installation.audio.sinks import find_device

        find_device(sink)
    except ConfigError as exc:
        return [str(exc)]
    except OSError as exc:  # sounddevice without the PortAudio library
        return [f"audio.sink={sink!r}: PortAudio is not available ({exc}); apt-get install libportaudio2"]
    return []


class Supervisor:
    def __init__(self, cfg: Config, config_path: str | None, log_to: TextIO | None = None,
                 names: tuple[str, ...] = ORDER):
        self.cfg, self.config_path = cfg, config_path
        self.log_to = log_to or sys.stderr
        self.log_lock = threading.Lock()
        ipc = cfg.ipc
        endpoints = {"audio": ipc.audio_status, "generator": ipc.generator_status, "camera": ipc.artwork_events}
        self.children = {n: Child(n, endpoints[n], backoff=cfg.supervisor.restart_backoff_seconds) for n in names}
        self.stop = threading.Event()
        self.ctx = zmq.Context()
        self.notifier = SystemdNotifier()
        self.started = time.monotonic()
        self.exit_code = ExitCode.OK
        self.reason: str | None = None
        self.rep = self.sub = None

    # children ------------------------------------------------------------------------------------
    def _command(self, name: str) -> list[str]:
        config = ["--config", str(Path(self.config_path).resolve())] if self.config_path else []
        return [sys.executable, "-m", "installation.cli", *config, name]

    def _spawn(self, child: Child) -> None:
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}  # systemd hears the supervisor only
        env["PYTHONUNBUFFERED"] = "1"
        env[SUPERVISOR_ENV] = str(os.getpid())  # a child whose supervisor dies stops by itself
        child.proc = subprocess.Popen(self._command(child.name), env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                                      start_new_session=True)  # a terminal's Ctrl-C reaches the supervisor only
        try:
            os.setpriority(os.PRIO_PROCESS, child.proc.pid, os.getpriority(os.PRIO_PROCESS, 0) + NICE[child.name])
        except OSError as exc:
            log.warning("supervisor: could not lower %s's priority: %s", child.name, exc)
        child.started_at, child.last_beat, child.state, child.status = time.monotonic(), None, "starting", {}
        threading.Thread(target=self._relay, args=(child, child.proc), name=f"log-{child.name}", daemon=True).start()
        log.info("supervisor: started %s (pid %d)", child.name, child.proc.pid)

    def _relay(self, child: Child, proc: subprocess.Popen) -> None:
        """The child's log lines, prefixed with its name, to our log; its last error is kept for status."""
        for line in proc.stdout:
            line = line.rstrip("\n")
            if " ERROR " in line or " CRITICAL " in line or ": error: " in line:
                child.error = line.split(": ", 2)[-1][:500] if ": " in line else line[:500]
            with self.log_lock:
                self.log_to.write(f"[{child.name}] {line}\n")
                self.log_to.flush()

    def _exited(self, child: Child, code: int) -> None:
        now = time.monotonic()
        child.last_exit = describe_exit(code)
        ran = now - child.started_at
        if not restartable(code):
            child.failed, child.state = True, "failed"
            log.error("supervisor: %s stopped with a configuration error (%s); not restarting it. %s", child.name,
                      child.last_exit, child.error or "")
            if child.name == "audio":
                self.exit_code, self.reason = ExitCode.CONFIG, f"the audio process cannot run: {child.error}"
                self.stop.set()
            return
        if ran >= self.cfg.supervisor.stable_seconds:
            child.backoff = self.cfg.supervisor.restart_backoff_seconds
        child.state, child.next_start = "restarting", now + child.backoff
        log.error("supervisor: %s ended (%s) after %.1f s; restarting in %.1f s", child.name, child.last_exit, ran,
                  child.backoff)
        child.backoff = min(child.backoff * 2, self.cfg.supervisor.restart_backoff_max_seconds)

    def _hung(self, child: Child, now: float) -> bool:
        s = self.cfg.supervisor
        if child.last_beat is None:
            return now - child.started_at > s.start_timeout_seconds
        limit = s.start_timeout_seconds if child.state in LOADING_STATES else s.heartbeat_timeout_seconds
        return now - child.last_beat > limit

    def _may_start(self, child: Child, now: float) -> bool:
        before = self.children.get(STARTS_AFTER.get(child.name, ""))
        if before is None or child.last_exit is not None or before.failed:
            return True
        ready = before.last_beat is not None and before.state not in LOADING_STATES
        return ready or now - self.started > self.cfg.supervisor.start_timeout_seconds

    def _watch(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            if child.failed:
                continue
            if child.proc is None:
                if now >= child.next_start and self._may_start(child, now):
                    child.restarts += child.last_exit is not None
                    self._spawn(child)
                continue
            code = child.proc.poll()
            if code is None and self._hung(child, now):
                age = "never" if child.last_beat is None else f"{now - child.last_beat:.1f} s ago"
                log.error("supervisor: %s is hung (last heartbeat %s); killing it", child.name, age)
                child.proc.kill()
                child.proc.wait(5)
                code = ExitCode.HUNG
            if code is not None:
                child.proc = None
                self._exited(child, code)

    # messages ------------------------------------------------------------------------------------
    def _heartbeats(self) -> None:
        while self.sub.poll(0):
            try:
                msg = messages.decode(self.sub.recv_multipart(copy=False))
            except messages.MessageError as exc:
                log.warning("supervisor: dropped a message: %s", exc)
                continue
            name = msg.data.get("process")
            child = self.children.get(name) if msg.kind == "heartbeat" and isinstance(name, str) else None
            if child is None or child.proc is None or msg.data.get("pid") != child.proc.pid:
                continue  # an artwork event, or a heartbeat of a process we no longer run
            child.last_beat, child.artwork = time.monotonic(), msg.artwork_id
            child.state = str(msg.data.get("state"))[:40]
            if isinstance(msg.data.get("status"), dict):
                child.status = msg.data["status"]

    def _requests(self) -> None:
        while self.rep.poll(0):
            try:
                messages.decode(self.rep.recv_multipart(copy=False))
                reply = self.status()
            except messages.MessageError as exc:
                reply = {"error": f"bad request: {exc}"}
            messages.send(self.rep, messages.Message("heartbeat", self.artwork(), data={
                "process": "supervisor", "pid": os.getpid(), "state": self.state(), "status": reply}))

    def artwork(self) -> str | None:
        camera = self.children.get("camera")
        return camera.artwork if camera else None

    def state(self) -> str:
        if self.stop.is_set():
            return "stopping"
        if any(c.failed or c.state in ("restarting", "not started") for c in self.children.values()):
            return "degraded"
        return "running"

    def status(self) -> dict:
        now = time.monotonic()
        kids = self.children
        audio = kids["audio"].status if "audio" in kids else {}
        gen = kids["generator"].status if "generator" in kids else {}
        cam = kids["camera"].status if "camera" in kids else {}
        return {
            "state": self.state(), "pid": os.getpid(), "uptime_s": round(now - self.started, 1),
            "processes": {n: c.to_json(now) for n, c in kids.items()},
            "artwork": self.artwork(),
            "audio": {k: audio.get(k) for k in ("artwork", "level", "buffered_s", "ahead_s", "underruns", "xruns",
                                                 "played_s", "received", "refused", "dropped", "quiet", "device")},
            "generator": {k: gen.get(k) for k in ("artwork", "rtf", "last_rtf", "last_clip_s", "clips_generated",
                                                   "clips_cancelled", "clips_from_cache", "stage_ms", "error")},
            "camera": {k: cam.get(k) for k in ("fps", "recognition_ms", "confirmed", "still", "glare_off", "source",
                                                 "reconnects", "last_seen", "lookalikes")},
            "errors": {n: c.error for n, c in kids.items() if c.error and (c.failed or c.state != "running")},
        }

    # lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        self.rep = messages.socket(self.ctx, zmq.REP, self.cfg.ipc.supervisor, bind=True)
        preflight(self.cfg, self.ctx, skip_endpoints=(self.cfg.ipc.supervisor,))
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        for child in self.children.values():
            self.sub.connect(child.heartbeat_endpoint)
        self._watch()  # starts the children in ORDER, each when it may
        self.notifier.notify("READY=1")

    def step(self) -> None:
        self._heartbeats()
        self._requests()
        self._watch()
        self.notifier.watchdog()

    def run(self, seconds: float | None = None) -> int:
        """Supervises until SIGTERM/SIGINT (or for `seconds`), then stops everything; the exit code."""
        deadline = None if seconds is None else time.monotonic() + seconds
        next_line = 0.0
        try:
            self.start()
            while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
                self.step()
                if time.monotonic() >= next_line:
                    next_line = time.monotonic() + 5
                    self.notifier.notify(f"STATUS={self.state()}; artwork {self.artwork()}")
                self.stop.wait(LOOP_MS / 1000)
        finally:
            self.shutdown()
        if self.reason:
            log.error("supervisor: %s", self.reason)
        return self.exit_code

    def _terminate(self, names: tuple[str, ...]) -> None:
        procs = [(n, self.children[n].proc) for n in names if n in self.children and self.children[n].proc]
        for _, proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
                proc.terminate()
        deadline = time.monotonic() + self.cfg.supervisor.stop_timeout_seconds
        for name, proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("supervisor: %s did not stop within %.0f s; killing it", name,
                          self.cfg.supervisor.stop_timeout_seconds)
                proc.kill()
                proc.wait(5)
            self._heartbeats()  # its last heartbeat (final numbers)
            self.children[name].state = "stopped"
            self.children[name].last_exit = describe_exit(proc.returncode)

    def shutdown(self) -> None:
        self.stop.set()
        self.notifier.notify("STOPPING=1")
        self._terminate(("camera", "generator"))
        self._terminate(("audio",))  # last: it fades out what plays
        for sock in (self.rep, self.sub):
            if sock is not None:
                sock.close()
        self.ctx.term()


def install_signals(supervisor: Supervisor) -> None:
    def on_signal(signum, frame):
        log.info("supervisor: signal %d, stopping the kiosk", signum)
        supervisor.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
