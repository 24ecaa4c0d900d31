"""`art2mus status`: the JSON state of a running kiosk (exit 1 when none answers)."""

from __future__ import annotations

import json
import sys

from installation.config import Config

HELP = "JSON state of the running kiosk: processes, artwork, audio, generator (exit 1 when not running)"


def add_arguments(p) -> None:
    p.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for the supervisor's answer")


def run(cfg: Config, args) -> int:
    from installation.supervisor.status import ask

    answer = ask(cfg.ipc.supervisor, args.timeout)
    if answer is None:
        print(f"art2mus status: no kiosk is running (nothing answered at ipc.supervisor={cfg.ipc.supervisor!r} "
              f"within {args.timeout:g} s); start it with `art2mus run` or `systemctl start art2mus`", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2))
    return 0 if answer.get("state") in ("running", "degraded") else 1
