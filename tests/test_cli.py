"""The `art2mus` console script as a user runs it: real processes, real files, exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]


def art2mus(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "installation.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=timeout)


def test_generate_writes_one_wav_and_prints_stage_timings(tmp_path, tiny_bundle, artwork):
    out = tmp_path / "clip.wav"
    r = art2mus("generate", artwork, "--out", out, "--seconds", 0.6, "--steps", 3, "--seed", 5, "--bundle", tiny_bundle)
    assert r.returncode == 0, r.stderr
    wave, rate = sf.read(out, dtype="float32")
    assert rate == 16000 and wave.shape == (9600,) and np.isfinite(wave).all()
    for stage in ("encoder", "projector", "unet", "vocoder"):
        assert stage in r.stdout
    assert "seed 5" in r.stdout


def test_generate_several_images_into_a_folder(tmp_path, tiny_bundle, artwork):
    out = tmp_path / "clips"
    r = art2mus("generate", artwork, artwork, "--out", out, "--seconds", 0.3, "--steps", 2, "--clips", 2,
                "--scheduler", "ddim", "--bundle", tiny_bundle)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["composition-0.wav", "composition-1-0.wav", "composition-1-1.wav",
                                                      "composition-1.wav"]


@pytest.mark.parametrize("args,message", [
    (["--seconds", "0"], "seconds=0.0 must be a number above 0"),
    (["--seconds", "500"], "seconds=500.0 must be a number above 0 and at most 60"),
    (["--steps", "0"], "steps=0 must be a whole number from 1 to 999"),
    (["--bundle", "/nonexistent/bundle"], "model bundle '/nonexistent/bundle' does not exist"),
])
def test_bad_arguments_fail_cleanly_without_output(tmp_path, tiny_bundle, artwork, args, message):
    out = tmp_path / "clip.wav"
    bundle = [] if "--bundle" in args else ["--bundle", tiny_bundle]
    r = art2mus("generate", artwork, "--out", out, "--steps", "2", *bundle, *args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_one_broken_image_among_many_writes_nothing(tmp_path, tiny_bundle, artwork):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "clips"
    r = art2mus("generate", artwork, broken, "--out", out, "--seconds", 0.3, "--steps", 2, "--bundle", tiny_bundle)
    assert r.returncode == 2 and "broken.jpg' is not an image" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_bad_config_key_is_named(tmp_path, artwork):
    config = tmp_path / "config.yaml"
    config.write_text("model:\n  guidence: 3\n")
    r = art2mus("--config", config, "generate", artwork, "--out", tmp_path / "x.wav")
    assert r.returncode == 2 and "unknown key 'model.guidence'" in r.stderr and "Traceback" not in r.stderr


def test_demo_runs_the_real_kiosk_and_meets_its_targets(tmp_path, tiny_bundle):
    config = tmp_path / "config.yaml"
    config.write_text(f"model:\n  bundle: {tiny_bundle}\ndemo:\n  clip_seconds: 1.0\n  steps: 3\n")
    out = tmp_path / "demo"
    r = art2mus("--config", config, "demo", "--seconds", 25, "--out", out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(r.stdout.splitlines()) < 20 and "INFO" not in r.stdout + r.stderr  # a short summary, no log pages
    summary = json.loads((out / "summary.json").read_text())
    for key in ("underruns", "artwork_switches", "clips_generated", "clips_from_cache", "crossfades",
                "time_to_music_s", "generator"):
        assert key in summary, key
    assert summary["underruns"] == 0 and summary["clips_generated"] >= 2 and summary["artwork_switches"] >= 1
    assert summary["time_to_music_s"] and all(t is not None for t in summary["time_to_music_s"][:-1])
    assert set(summary["generator"]["stage_ms"]) == {"encoder", "projector", "unet", "vocoder"}
    assert summary["targets"]["first_ok"] is not False and summary["targets"]["returning_ok"] is not False
    assert all(p["restarts"] == 0 for p in summary["processes"].values())
    wave, rate = sf.read(out / "demo.wav")
    assert rate == 48000 and wave.shape[1] == 2 and len(wave) / rate > 20
    assert 0 < np.abs(wave).max() <= 10 ** (-1 / 20) + 1e-6  # loudness-normalised, under the limiter's ceiling
    assert sorted(p.suffix for p in (out / "artworks").iterdir() if p.is_file()) == [".png"] * 3


def test_export_without_out_is_refused(tmp_path):
    r = art2mus("export", "--tiny")
    assert r.returncode == 2 and "--out BUNDLE" in r.stderr


def test_runtime_never_imports_torch(tiny_bundle):
    code = ("import sys, installation.cli, installation.commands.generate, installation.demo, engines.pipeline; "
            f"from engines.pipeline import Art2MusPipeline; Art2MusPipeline.load({str(tiny_bundle)!r}); "
            "bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]; "
            "sys.exit(f'runtime imported {bad}' if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
