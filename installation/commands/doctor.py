"""`art2mus doctor`: checks this kiosk box (config, bundle, ONNX Runtime, GPU/TensorRT, camera,
audio, endpoints, disk, one generated clip) and prints a table, or one JSON object with --json.
Exit 0 when nothing FAILs (a WARN does not fail), 1 when something does."""

from __future__ import annotations

import json

from installation.config import Config

HELP = "check this box: config, bundle, ONNX Runtime, GPU/TensorRT, camera, audio, ports, disk, generation"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true",
                   help='one JSON object {"ok": ..., "checks": [...]} instead of a table')
    p.add_argument("--no-generate", action="store_true",
                   help="skip generating a test clip (it takes up to a minute with a full-size bundle)")


def run(cfg: Config, args) -> int:
    from installation.supervisor.doctor import as_json, config_source, format_table, healthy, run_checks

    checks = run_checks(cfg, config_source(args.config), generate=not args.no_generate)
    print(json.dumps(as_json(checks)) if args.json else format_table(checks), flush=True)
    return 0 if healthy(checks) else 1
