"""What every kiosk process shares: signals -> a stop event, one ZeroMQ context, the heartbeat
(one message shape for every process's status), systemd's notify socket, and the exit codes a
supervisor reads.

A heartbeat is a `heartbeat` message (messages.py) whose data is
    {"process": NAME, "pid": PID, "state": STATE, "uptime_s": S, "status": {...process-specific}}
and whose artwork_id is the artwork the process is working on (or None). The supervisor's answer
to `art2mus status` has the same shape, with its children in "status".
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from enum import IntEnum

import zmq

from installation import messages

log = logging.getLogger(__name__)
SUPERVISOR_ENV = "ART2MUS_SUPERVISOR_PID"  # set by the supervisor in its children's environment


class ExitCode(IntEnum):
    """How a kiosk process ended, and what its supervisor does about it."""

    OK = 0  # stopped on request (SIGTERM/SIGINT); under a running supervisor it is started again
    CRASHED = 1  # an unexpected error (a traceback): restarted with backoff
    CONFIG = 2  # bad config or input (a mistyped device, a missing bundle): NOT restarted, reported
    DEVICE_LOST = 3  # the sound device or camera went away: restarted (devices are enumerated again)
    BUS = 4  # a socket could not be bound or its receiver died: restarted
    HUNG = 5  # the supervisor killed it for missed heartbeats (set by the supervisor, never by a child)

    @property
    def restart(self) -> bool:
        """A kiosk process is never meant to end: all but a config error are restarted."""
        return self is not ExitCode.CONFIG


def describe_exit(code: int | None) -> str:
    if code is None:
        return "running"
    if code < 0:
        return f"killed by signal {-code} ({signal.Signals(-code).name})" if -code in signal.Signals._value2member_map_ \
            else f"killed by signal {-code}"
    try:
        return f"exit {code} ({ExitCode(code).name.lower()})"
    except ValueError:
        return f"exit {code}"


def restartable(code: int | None) -> bool:
    """Signals and unknown codes are restarted; only a config error is not."""
    try:
        return code is None or code < 0 or ExitCode(code).restart
    except ValueError:
        return True


class SystemdNotifier:
    """sd_notify(3) over $NOTIFY_SOCKET (a datagram to a unix socket); does nothing outside systemd."""

    def __init__(self, env: dict | None = None):
        address = (env if env is not None else os.environ).get("NOTIFY_SOCKET")
        if address and address.startswith("@"):
            address = "\0" + address[1:]  # an abstract socket
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if address else None
        if self.sock is not None:
            self.sock.setblocking(False)  # a listener that stops reading must never block a work loop
        usec = (env if env is not None else os.environ).get("WATCHDOG_USEC", "")
        self.watchdog_every = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else 1.0
        self._next_watchdog = 0.0

    def notify(self, state: str) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendto(state.encode(), self.address)
        except OSError as exc:  # systemd gone, restarting or its queue full: nothing to stop for
            log.debug("sd_notify %s failed: %s", state, exc)

    def watchdog(self) -> None:
        """WATCHDOG=1 at half systemd's interval (not on every turn of a fast loop)."""
        now = time.monotonic()
        if now >= self._next_watchdog:
            self._next_watchdog = now + self.watchdog_every
            self.notify("WATCHDOG=1")


class ProcessRuntime:
    """One per kiosk process: the stop event its loops watch, its ZeroMQ context, and its heartbeat.

    Heartbeats are sent from the process's real work loop (`beat`), never from a timer thread, so a
    hung loop stops them and the supervisor sees it."""

    def __init__(self, name: str, heartbeat_seconds: float = 1.0):
        self.name = name
        self.pid = os.getpid()
        self.started = time.monotonic()
        self.stop = threading.Event()
        self.ctx = zmq.Context()
        self.heartbeat_seconds = heartbeat_seconds
        self.notifier = SystemdNotifier()
        self._pub: zmq.Socket | None = None
        self._seq = 0
        self._next_beat = 0.0
        supervisor = os.environ.get(SUPERVISOR_ENV, "")
        self.parent_pid = int(supervisor) if supervisor.isdigit() else None

    def _check_parent(self) -> None:
        """A supervised child whose supervisor died (reparented) stops: no orphan kiosk processes."""
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            log.error("%s: the supervisor (pid %d) is gone; stopping", self.name, self.parent_pid)
            self.stop.set()

    def install_signals(self) -> None:
        def on_signal(signum, frame):
            log.info("%s: signal %d, stopping", self.name, signum)
            self.stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def bind_heartbeat(self, endpoint: str) -> zmq.Socket:
        """The PUB socket heartbeats go out on (a process's own status endpoint, or its event socket)."""
        self._pub = messages.socket(self.ctx, zmq.PUB, endpoint, bind=True)
        return self._pub

    def use_publisher(self, sock: zmq.Socket) -> None:
        self._pub = sock

    def heartbeat(self, state: str, status: dict, artwork_id: str | None = None) -> messages.Message:
        self._seq += 1
        return messages.Message("heartbeat", artwork_id, seq=self._seq, data={
            "process": self.name, "pid": self.pid, "state": state,
            "uptime_s": round(time.monotonic() - self.started, 1), "status": status})

    def beat(self, state: str, status, artwork_id: str | None = None, force: bool = False) -> bool:
        """Publishes a heartbeat when one is due (or `force`); `status` may be a dict or a callable
        making one (only called when due). Also pings systemd's watchdog. True when one was sent."""
        now = time.monotonic()
        if not force and now < self._next_beat:
            return False
        self._next_beat = now + self.heartbeat_seconds
        if self._pub is not None:
            msg = self.heartbeat(state, status() if callable(status) else status, artwork_id)
            try:
                messages.send(self._pub, msg)
            except messages.MessageError as exc:  # never silent, never fatal: a heartbeat that says so
                log.error("%s: heartbeat not sent whole: %s", self.name, exc)
                messages.send(self._pub, self.heartbeat(state, {"error": f"status too large: {exc}"}, None))
        self.notifier.watchdog()
        self._check_parent()
        return True

    def close(self, linger_seconds: float = 0.0) -> None:
        """`linger_seconds`: time for a last heartbeat to leave before the socket closes."""
        if linger_seconds:
            time.sleep(linger_seconds)
        if self._pub is not None:
            self._pub.close()
            self._pub = None
        self.ctx.term()
