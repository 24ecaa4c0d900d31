"""`art2mus doctor` as a technician runs it: real subprocesses on a real config, one JSON object out."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import yaml
import zmq

from helpers import free_ports
from installation.camera.synthetic import artwork
from installation.supervisor.doctor import Check, Result, format_table, guarded

REPO = Path(__file__).resolve().parents[1]
IPC_KEYS = ("artwork_events", "clips", "audio_status", "generator_status", "supervisor")


def art2mus(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "installation.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=timeout, check=False)


def write_config(tmp_path: Path, bundle: Path, **audio) -> tuple[Path, dict]:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for seed in (1, 2):
        cv2.imwrite(str(catalog / f"work-{seed}.png"), artwork(seed))
    data = {
        "model": {"bundle": str(bundle), "clip_seconds": 0.5, "steps": 2},
        "catalog": {"folder": str(catalog)},
        "camera": {"source": "synthetic"},
        "audio": {"sink": f"file:{tmp_path / 'out' / 'out.wav'}", **audio},
        "generator": {"cache": str(tmp_path / "clips")},
        "ipc": {key: f"tcp://127.0.0.1:{port}" for key, port in zip(IPC_KEYS, free_ports(len(IPC_KEYS)))},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, data


def doctor(config: Path, *flags) -> tuple[subprocess.CompletedProcess, dict, dict]:
    r = art2mus("--config", config, "doctor", "--json", *flags)
    assert "Traceback" not in r.stderr, r.stderr
    report = json.loads(r.stdout)
    return r, report, {c["name"]: c for c in report["checks"]}


def test_healthy_box_passes_and_reports_the_real_time_factor(tmp_path, tiny_bundle):
    config, data = write_config(tmp_path, tiny_bundle)
    r, report, checks = doctor(config)
    assert r.returncode == 0, r.stdout + r.stderr
    assert report["ok"] is True
    assert list(checks) == ["config", "bundle", "onnxruntime", "gpu", "camera", "audio", "endpoints", "disk",
                            "generation"]
    for c in checks.values():
        assert set(c) == {"name", "result", "detail", "fix"}
        assert c["result"] in ("OK", "WARN"), c
    assert str(config) in checks["config"]["detail"]
    assert checks["bundle"]["result"] == "OK" and "fingerprint" in checks["bundle"]["detail"]
    assert re.search(r"\d+ frames in [\d.]+ s \([\d.]+ fps\), 640x480", checks["camera"]["detail"])
    # The camera's recogniser was built, its catalog's look-alikes learnt and cached for the camera's start.
    assert re.search(r"2 artworks, (verifier refitted on \d+ look-alike pairs of [12] works|no look-alikes \(the "
                     r"verifier as shipped\))", checks["camera"]["detail"]), checks["camera"]
    assert (Path(data["catalog"]["folder"]) / ".art2mus-index" / "lookalikes.npz").is_file()
    rtf = re.search(r"rtf (\d+\.\d+)", checks["generation"]["detail"])
    assert rtf and float(rtf.group(1)) > 0, checks["generation"]
    for stage in ("encoder", "projector", "unet", "vocoder"):
        assert f"{stage} " in checks["generation"]["detail"]
    assert not (tmp_path / "out").exists()  # the file sink's folder is checked, not created


def test_table_output_and_no_generate(tmp_path, tiny_bundle):
    config, _ = write_config(tmp_path, tiny_bundle)
    r = art2mus("--config", config, "doctor", "--no-generate")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["check", "result"]
    assert re.match(r"generation\s+WARN\s+skipped \(--no-generate\)", next(x for x in lines if x.startswith("gen")))
    assert re.match(r"\d+ OK, 1 WARN, 0 FAIL", lines[-1])


def test_corrupt_bundle_fails_naming_the_file(tmp_path, tiny_bundle):
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    victim = bundle / "onnx" / "projector.onnx"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    config, _ = write_config(tmp_path, bundle)
    r, report, checks = doctor(config)
    assert r.returncode == 1 and report["ok"] is False
    assert checks["bundle"]["result"] == "FAIL"
    assert str(victim) in checks["bundle"]["detail"] and "sha256" in checks["bundle"]["detail"]
    assert "re-export" in checks["bundle"]["fix"]
    assert checks["generation"]["result"] == "WARN" and "skipped" in checks["generation"]["detail"]


def test_missing_bundle_fails(tmp_path):
    config, _ = write_config(tmp_path, tmp_path / "no-bundle")
    r, _, checks = doctor(config, "--no-generate")
    assert r.returncode == 1
    assert checks["bundle"]["result"] == "FAIL" and "does not exist" in checks["bundle"]["detail"]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_endpoint_in_use_fails(tmp_path, tiny_bundle, transport):
    config, data = write_config(tmp_path, tiny_bundle)
    if transport == "ipc":
        data["ipc"] = {key: f"ipc://{tmp_path}/{key}" for key in IPC_KEYS}
        config.write_text(yaml.safe_dump(data))
    endpoint = data["ipc"]["artwork_events"]
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind(endpoint)
    try:
        r, _, checks = doctor(config, "--no-generate")
        if transport == "ipc":  # the doctor looked without binding: the kiosk's socket is still its own
            sub = ctx.socket(zmq.SUB)
            sub.setsockopt(zmq.LINGER, 0)
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            sub.connect(endpoint)
            for _ in range(50):
                pub.send(b"still here")
                if sub.poll(100):
                    break
            assert sub.recv(zmq.NOBLOCK) == b"still here"
            sub.close()
    finally:
        pub.close()
        ctx.term()
    assert r.returncode == 1
    c = checks["endpoints"]
    assert c["result"] == "FAIL" and "ipc.artwork_events" in c["detail"] and endpoint in c["detail"]
    assert "art2mus status" in c["fix"]
    assert "ipc.clips" not in c["detail"]


def test_mistyped_sound_device_fails_naming_it(tmp_path, tiny_bundle):
    config, _ = write_config(tmp_path, tiny_bundle, sink="no-such-card")
    r, _, checks = doctor(config, "--no-generate")
    assert r.returncode == 1
    assert checks["audio"]["result"] == "FAIL" and "no-such-card" in checks["audio"]["detail"]
    assert checks["audio"]["fix"]


def test_sound_device_opens(tmp_path, tiny_bundle, jack_server):
    config, _ = write_config(tmp_path, tiny_bundle, sink="system", sample_rate=48000, block=1024)
    r, _, checks = doctor(config, "--no-generate")
    assert checks["audio"]["result"] == "OK", checks["audio"]
    assert re.search(r"plays at 48000 Hz, 2 channels \(\d+ callbacks", checks["audio"]["detail"])
    assert r.returncode == 0, r.stdout


def test_empty_catalog_fails_the_camera(tmp_path, tiny_bundle):
    config, data = write_config(tmp_path, tiny_bundle)
    (tmp_path / "empty").mkdir()
    data["catalog"]["folder"] = str(tmp_path / "empty")
    config.write_text(yaml.safe_dump(data))
    r, _, checks = doctor(config, "--no-generate")
    assert r.returncode == 1
    assert checks["camera"]["result"] == "FAIL" and "no artwork images" in checks["camera"]["detail"]


def test_a_check_that_raises_is_a_fail_not_a_traceback():
    def broken():
        raise KeyError("manifest field")

    c = guarded("gpu", broken)
    assert c.result is Result.FAIL and c.name == "gpu"
    assert "KeyError" in c.detail and "manifest field" in c.detail and c.fix


def test_table_puts_the_fix_under_a_failing_check():
    table = format_table([Check("config", Result.OK, "a.yaml: valid"),
                          Check("disk", Result.FAIL, "50 MB free", "free space")]).splitlines()
    assert table[1].split() == ["config", "OK", "a.yaml:", "valid"]
    assert table[3].strip() == "fix: free space"
    assert table[-1] == "1 OK, 0 WARN, 1 FAIL"


def fake_nvidia_smi(folder: Path, body: str) -> Path:
    folder.mkdir()
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return folder


def test_gpu_box_reports_the_gpu_and_a_cpu_only_onnxruntime(tmp_path, tiny_bundle):
    import onnxruntime as ort

    bin_dir = fake_nvidia_smi(tmp_path / "bin", 'echo "NVIDIA H200, 550.54.15, 9.0"')
    config, data = write_config(tmp_path, tiny_bundle)
    data["model"]["backend"] = "tensorrt"
    config.write_text(yaml.safe_dump(data))
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    r = subprocess.run([sys.executable, "-m", "installation.cli", "--config", str(config), "doctor", "--json",
                        "--no-generate"], capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    gpu = checks["gpu"]
    assert "NVIDIA H200 (driver 550.54.15, compute 9.0)" in gpu["detail"]
    assert gpu["result"] == "WARN" and "no TensorRT engines for this box" in gpu["detail"]
    assert "art2mus build" in gpu["fix"]
    if not {"CUDAExecutionProvider", "TensorrtExecutionProvider"} & set(ort.get_available_providers()):
        assert checks["onnxruntime"]["result"] == "WARN" and "onnxruntime-gpu" in checks["onnxruntime"]["fix"]


@pytest.mark.parametrize("body,message", [
    ("exec sleep 5", "did not answer within 0.5 s"),
    ('echo "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver" >&2; exit 9',
     "nvidia-smi failed (exit 9): NVIDIA-SMI has failed"),
])
def test_a_broken_nvidia_smi_is_an_error_not_a_hang(tmp_path, monkeypatch, body, message):
    from engines.errors import Art2MusError
    from installation.supervisor.doctor import query_gpus

    monkeypatch.setenv("PATH", f"{fake_nvidia_smi(tmp_path / 'bin', body)}:{os.environ['PATH']}")
    with pytest.raises(Art2MusError, match=re.escape(message)):
        query_gpus(timeout=0.5)
