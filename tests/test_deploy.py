"""deploy/: the systemd unit, its drop-ins, sysusers/tmpfiles files and the installer, checked without a
running systemd; and the notify protocol the supervisor speaks to systemd (installation/process.py)."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from installation.config import parse_config
from installation.process import SystemdNotifier

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "deploy" / "systemd"
UNIT = SYSTEMD / "art2mus.service"
DROPINS = sorted((SYSTEMD / "dropins").glob("*.conf"))
INSTALL = ROOT / "deploy" / "install.sh"
# Executables that exist only on a kiosk box: systemd-analyze may say they are missing, nothing else.
BOX_ONLY = ("/opt/art2mus/venv/bin/art2mus", "/usr/bin/nvidia-modprobe")


def read_unit(path: Path) -> configparser.ConfigParser:
    """systemd's INI dialect: '=' only, '#'/';' comments, case-sensitive keys; a repeated key is an error
    here (strict), so a unit that sets something twice by mistake fails."""
    parser = configparser.ConfigParser(delimiters=("=",), comment_prefixes=("#", ";"), inline_comment_prefixes=None,
                                       interpolation=None, strict=True, empty_lines_in_values=False)
    parser.optionxform = str
    parser.read_string(path.read_text(), source=str(path))
    return parser


def seconds(value: str) -> float:
    """A systemd time span as this unit writes them: '30', '30s', '5min'."""
    match = re.fullmatch(r"(\d+)\s*(s|sec|min|)", value.strip())
    assert match, f"unexpected time span {value!r}"
    return int(match.group(1)) * (60 if match.group(2) == "min" else 1)


@pytest.fixture(scope="module")
def unit() -> configparser.ConfigParser:
    return read_unit(UNIT)


def test_unit_sections_and_supervision_keys(unit):
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"  # children's NOTIFY_SOCKET is stripped; only the supervisor speaks
    assert service["Restart"] == "always"
    assert service["KillMode"] == "mixed"
    assert seconds(service["WatchdogSec"]) > 0
    assert service["User"] == "art2mus" and service["Group"] == "art2mus"
    assert set(service["SupplementaryGroups"].split()) >= {"audio", "video"}
    # The start limit lives in [Unit] (systemd ignores it in [Service] on current versions).
    assert int(unit["Unit"]["StartLimitBurst"]) > 0 and seconds(unit["Unit"]["StartLimitIntervalSec"]) > 0
    assert "StartLimitBurst" not in service and "StartLimitIntervalSec" not in service
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_unit_stop_timeout_covers_the_supervisors_ordered_stop(unit):
    """Camera and generator get stop_timeout_seconds, then audio (its fade-out) gets it again."""
    stop_timeout = parse_config(yaml.safe_load((ROOT / "config.yaml").read_text()), "config.yaml") \
        .supervisor.stop_timeout_seconds
    assert seconds(unit["Service"]["TimeoutStopSec"]) > 2 * stop_timeout


def test_unit_keeps_devices_reachable_and_paths_writable(unit):
    service = unit["Service"]
    assert "DeviceAllow" not in service and service.get("PrivateDevices", "no") == "no"  # /dev/snd, video, nvidia
    assert service["ProtectSystem"] == "strict"
    writable = {p.lstrip("-") for p in service["ReadWritePaths"].split()}
    assert {f"/var/lib/{service['StateDirectory']}", f"/var/cache/{service['CacheDirectory']}", "/run/art2mus"} <= writable
    assert service["WorkingDirectory"] == f"/var/lib/{service['StateDirectory']}"


def test_execstart_runs_the_supervisor_with_a_config(unit):
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert argv[0] == "/opt/art2mus/venv/bin/art2mus"
    from installation.commands import NAMES
    from installation.cli import build_parser

    if "run" not in NAMES:
        pytest.skip("`art2mus run` is not registered in installation.commands.NAMES yet")
    try:
        args = build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"art2mus does not accept the unit's arguments {argv[1:]}")
    assert args.command == "run"
    assert args.config == "/etc/art2mus/config.yaml"


@pytest.mark.parametrize("dropin", DROPINS, ids=lambda p: p.name)
def test_dropins_parse_and_the_installer_installs_each(dropin):
    parsed = read_unit(dropin)
    assert parsed.sections(), f"{dropin.name} sets nothing"
    assert f"deploy/systemd/dropins/{dropin.name}" in INSTALL.read_text()


def test_installer_refers_only_to_files_that_exist():
    for rel in re.findall(r"\$SRC/(deploy/[\w./-]+)", INSTALL.read_text()):
        assert (ROOT / rel).exists(), f"install.sh installs {rel}, which is not in the checkout"


def test_sysusers_user_matches_the_unit(unit, tmp_path):
    entries = [line.split(maxsplit=2) for line in (SYSTEMD / "art2mus-sysusers.conf").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert ["m", "art2mus", "audio"] in entries and ["m", "art2mus", "video"] in entries
    user = next(e for e in entries if e[0] == "u")
    assert user[1] == unit["Service"]["User"]
    assert shlex.split(user[2])[-1] == unit["Service"]["WorkingDirectory"]  # the kiosk user's home

    if shutil.which("systemd-sysusers") is None:
        pytest.skip("systemd-sysusers is not installed here; the file was checked as text only")
    (tmp_path / "etc").mkdir()
    run = subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(SYSTEMD / "art2mus-sysusers.conf")],
                         capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"systemd-sysusers could not run in a scratch root here: {run.stderr.strip()}")
    passwd = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines()}
    assert passwd["art2mus"][5] == unit["Service"]["WorkingDirectory"]
    groups = {line.split(":")[0]: line.split(":")[3].split(",") for line in (tmp_path / "etc/group").read_text().splitlines()}
    assert "art2mus" in groups["audio"] and "art2mus" in groups["video"]


def test_tmpfiles_makes_the_ipc_folder_for_the_kiosk_user():
    lines = [line.split() for line in (SYSTEMD / "art2mus-tmpfiles.conf").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert ["d", "/run/art2mus", "0750", "art2mus", "art2mus", "-"] in lines


def test_install_script_parses():
    run = subprocess.run(["bash", "-n", str(INSTALL)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_install_script_passes_shellcheck():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    run = subprocess.run(["shellcheck", str(INSTALL)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def test_installed_config_loads_and_uses_the_service_folders(unit):
    """The config a fresh install writes: the repository's defaults with caches in CacheDirectory and the
    catalog in StateDirectory (a change to config.yaml that escapes the installer's edit fails here)."""
    run = subprocess.run(["bash", str(INSTALL), "--print-config", str(ROOT)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    cfg = parse_config(yaml.safe_load(run.stdout), "installed config")
    cache, state = f"/var/cache/{unit['Service']['CacheDirectory']}", f"/var/lib/{unit['Service']['StateDirectory']}"
    assert str(cfg.generator.cache_dir).startswith(cache + "/")
    assert str(cfg.model.cache_dir).startswith(cache)
    assert cfg.catalog.folder == f"{state}/catalog"


def _verify_output(*files: Path) -> list[str]:
    """systemd-analyze verify on a copy of the unit (plus drop-ins): its complaints about art2mus, less
    the executables that only exist on a kiosk box."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / UNIT.name
        shutil.copy(UNIT, target)
        for dropin in files:
            (Path(tmp) / f"{UNIT.name}.d").mkdir(exist_ok=True)
            shutil.copy(dropin, Path(tmp) / f"{UNIT.name}.d" / dropin.name)
        run = subprocess.run(["systemd-analyze", "verify", str(target)], capture_output=True, text=True)
    lines = [line for line in (run.stdout + run.stderr).splitlines() if "art2mus" in line]
    if run.returncode != 0 and not lines:
        pytest.skip(f"systemd-analyze verify cannot run here: {(run.stdout + run.stderr).strip()[-300:]}")
    return [line for line in lines if not any(f"Command {exe} is not executable" in line for exe in BOX_ONLY)]


@pytest.mark.parametrize("dropins", [[]] + [[d] for d in DROPINS], ids=lambda d: "+".join(p.name for p in d) or "unit")
def test_systemd_analyze_verify(dropins):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not on this machine (no systemd)")
    assert _verify_output(*dropins) == []


# --- the notify protocol (sd_notify(3)) -------------------------------------------------------------
@pytest.fixture
def notify_socket():
    """A unix datagram socket standing in for systemd's; a short path (sun_path holds 107 bytes)."""
    with tempfile.TemporaryDirectory(dir="/tmp" if Path("/tmp").is_dir() else None) as tmp:
        path = str(Path(tmp) / "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(2.0)
        try:
            yield path, sock
        finally:
            sock.close()


def test_notifier_sends_ready_and_watchdog_datagrams(notify_socket):
    path, sock = notify_socket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    notifier.notify("READY=1")
    notifier.notify("WATCHDOG=1")
    notifier.notify("STATUS=running; artwork None")
    assert [sock.recv(4096) for _ in range(3)] == [b"READY=1", b"WATCHDOG=1", b"STATUS=running; artwork None"]


def test_notifier_reaches_an_abstract_socket():
    """NOTIFY_SOCKET may name an abstract socket ('@...'), as systemd sets it in some setups."""
    name = f"art2mus-test-{id(object())}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2.0)
        SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).notify("READY=1")
        assert sock.recv(4096) == b"READY=1"


def test_notifier_outside_systemd_or_with_systemd_gone_does_nothing(tmp_path):
    SystemdNotifier({}).notify("READY=1")  # not under systemd: no socket, no error
    SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).notify("WATCHDOG=1")  # socket vanished: no error
