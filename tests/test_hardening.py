"""Issue 11's list, one test each: what a hostile user, file or message did before, and what
happens now (one clear line and exit 2, nothing lost, the kiosk never deaf)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf
import zmq

from engines.bundle import load_bundle
from engines.errors import Art2MusError
from engines.preprocess import read_image
from helpers import free_ports
from installation import messages
from installation.camera.synthetic import artwork
from installation.catalog import load_catalog
from installation.config import load_config, parse_config

REPO = Path(__file__).resolve().parents[1]


def art2mus(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "installation.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=timeout)


def one_line_exit_2(r):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") < 6, r.stderr


def _png(path: Path, h: int, w: int) -> Path:
    cv2.imwrite(str(path), np.full((h, w, 3), 128, np.uint8))
    return path


# --- data loss ---------------------------------------------------------------------------------

def test_export_refuses_a_folder_that_is_not_a_bundle_and_keeps_its_files(tmp_path):
    keep = tmp_path / "work"
    keep.mkdir()
    (keep / "thesis.txt").write_text("years of work")
    r = art2mus("export", "--tiny", "--out", keep)
    one_line_exit_2(r)
    assert "is not a model bundle" in r.stderr
    assert (keep / "thesis.txt").read_text() == "years of work"
    r = art2mus("export", "--tiny", "--out", ".", cwd=keep)
    one_line_exit_2(r)
    assert (keep / "thesis.txt").exists()


def test_export_replaces_a_bundle_whole(tmp_path, tiny_bundle):
    from export.exporter import replace_bundle

    out = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, out)
    new = tmp_path / ".new"
    shutil.copytree(tiny_bundle, new)
    (new / "marker").write_text("new")
    replace_bundle(new, out)
    assert (out / "marker").read_text() == "new" and not new.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # the old bundle moved aside, then removed


def _audio_config(tmp_path, **audio):
    ports = free_ports(3)
    lines = [f"audio:\n  sink: file:{tmp_path / 'out.wav'}\n  buffer_seconds: 0.4\n"]
    lines += [f"  {k}: {v}\n" for k, v in audio.items()]
    lines += [f"ipc:\n  artwork_events: tcp://127.0.0.1:{ports[0]}\n  clips: tcp://127.0.0.1:{ports[1]}\n"
              f"  audio_status: tcp://127.0.0.1:{ports[2]}\n"]
    config = tmp_path / "config.yaml"
    config.write_text("".join(lines))
    return config, ports


def _start_audio(config):
    return subprocess.Popen([sys.executable, "-m", "installation.cli", "--config", str(config), "audio"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_frames(path: Path, seconds: float, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if sf.info(str(path)).frames > seconds * 48000:
                return
        except RuntimeError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{path} never held {seconds} s of audio")


def test_file_sink_survives_a_stall_and_keeps_what_it_wrote(tmp_path):
    config, _ = _audio_config(tmp_path)
    proc = _start_audio(config)
    try:
        _wait_frames(tmp_path / "out.wav", 2.0)
        proc.send_signal(signal.SIGSTOP)
        time.sleep(4)  # longer than audio.stall_seconds: the old watchdog "reopened" (truncated) the file here
        proc.send_signal(signal.SIGCONT)
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr.read()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    frames = sf.info(str(tmp_path / "out.wav")).frames
    assert frames > 4 * 48000, frames  # the 2 s before, the 3 s after (the stall itself is not replayed)


def test_kill_9_of_the_audio_process_leaves_a_readable_wav(tmp_path):
    config, _ = _audio_config(tmp_path)
    proc = _start_audio(config)
    try:
        _wait_frames(tmp_path / "out.wav", 2.5)
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    wave, rate = sf.read(tmp_path / "out.wav")
    assert rate == 48000 and len(wave) >= 1.5 * 48000  # the header says what was written, up to a second ago


# --- the kiosk never deaf ------------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    {"shape": ["x"], "sample_rate": 16000},
    {"shape": [-5], "sample_rate": 16000},
    {"shape": [4], "sample_rate": "fast"},
    {"shape": [4], "sample_rate": 0},
    {"shape": [4], "sample_rate": -16000},
    {"shape": [4], "sample_rate": 1e12},
    {"shape": [4], "sample_rate": 1},
    {"shape": [4], "sample_rate": 16000, "artwork_id": ["a", "list"]},
    {"shape": [4], "sample_rate": 16000, "artwork_id": {"an": "object"}},
    {"shape": [messages.MAX_CLIP_SAMPLES + 1], "sample_rate": 16000},
])
def test_bad_clip_headers_are_message_errors(header):
    full = {"schema": 1, "kind": "clip", "artwork_id": "a", "dtype": "float32", **header}
    with pytest.raises(messages.MessageError):
        messages.decode([json.dumps(full).encode(), np.zeros(4, np.float32).tobytes()])


def test_a_header_that_is_json_but_not_an_object_is_named_as_such():
    with pytest.raises(messages.MessageError, match="JSON but a list"):
        messages.decode([b"[1, 2, 3]"])


def test_audio_process_takes_bad_messages_and_still_plays_a_good_clip(tmp_path):
    config, ports = _audio_config(tmp_path)
    proc = _start_audio(config)
    ctx = zmq.Context()
    pub = messages.socket(ctx, zmq.PUB, f"tcp://127.0.0.1:{ports[0]}", bind=True)
    push = messages.socket(ctx, zmq.PUSH, f"tcp://127.0.0.1:{ports[1]}", bind=False)
    sub = messages.socket(ctx, zmq.SUB, f"tcp://127.0.0.1:{ports[2]}", bind=False)

    def status(cond, seconds=20):
        deadline, last = time.monotonic() + seconds, None
        while time.monotonic() < deadline:
            messages.send(pub, messages.Message("artwork", "w1"))
            msg = messages.receive(sub, 200)
            if msg is not None:
                last = msg.data["status"]
                if cond(last):
                    return last
        pytest.fail(f"no such status (last {last}); process "
                    f"{'alive' if proc.poll() is None else proc.stderr.read()[-2000:]}")

    try:
        status(lambda s: s["artwork"] == "w1")
        for artwork_id in (["x"], {"y": 1}, 7):  # the old audio process exited 1 on these
            pub.send(json.dumps({"schema": 1, "kind": "artwork", "artwork_id": artwork_id}).encode())
            push.send_multipart([json.dumps({"schema": 1, "kind": "clip", "artwork_id": artwork_id, "dtype": "float32",
                                             "shape": [4], "sample_rate": 16000}).encode(), bytes(16)])
        push.send_multipart([json.dumps({"schema": 1, "kind": "clip", "artwork_id": "w1", "dtype": "float32",
                                         "shape": [4], "sample_rate": 1}).encode(), bytes(16)])
        status(lambda s: s["dropped"] >= 7)
        t = np.arange(32000) / 16000
        messages.send(push, messages.Message("clip", "w1", seq=1, array=(0.3 * np.sin(2 * np.pi * 330 * t)).astype(
            np.float32), sample_rate=16000))
        s = status(lambda s: s["started"]["fresh"] >= 1)  # it played (then its cached copy: a 2 s clip is short)
        assert s["received"] == 1 and s["underruns"] == 0 and proc.poll() is None
    finally:
        for sock in (pub, push, sub):
            sock.close()
        ctx.term()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_clips_endpoint_taken_ends_the_audio_process_non_zero(tmp_path):
    config, ports = _audio_config(tmp_path)
    ctx = zmq.Context()
    taken = ctx.socket(zmq.PULL)
    taken.bind(f"tcp://127.0.0.1:{ports[1]}")
    try:
        proc = _start_audio(config)
        code = proc.wait(timeout=30)
        err = proc.stderr.read()
    finally:
        taken.close(linger=0)
        ctx.term()
    assert code == 4 and "could not be bound" in err  # ExitCode.BUS: the supervisor restarts it; never deaf


def test_an_endpoint_that_is_not_zeromq_is_a_config_error(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("ipc:\n  clips: not-an-endpoint\n")
    r = art2mus("--config", config, "audio")
    one_line_exit_2(r)
    assert "ipc.clips" not in r.stderr or "not-an-endpoint" in r.stderr


# --- odd images ---------------------------------------------------------------------------------

@pytest.mark.parametrize("h,w,message", [(1, 8000, "too small"), (30, 8000, "aspect ratio"),
                                         (2, 600, "too small")])
def test_strips_are_refused_before_any_float_conversion(tmp_path, h, w, message):
    with pytest.raises(Art2MusError, match=message):
        read_image(_png(tmp_path / "strip.png", h, w))


def test_a_huge_png_is_refused_from_its_header(tmp_path):
    # A 20000x20000 PNG of one colour: ~1 MB on disk, 1.2 GB decoded; refused before decoding.
    path = tmp_path / "huge.png"
    row = b"\x00" + b"\x80\x80\x80" * 20000
    raw = zlib.compress(row * 20000, 9)

    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = (20000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    start = time.monotonic()
    with pytest.raises(Art2MusError, match="save a smaller copy"):
        read_image(path)
    assert time.monotonic() - start < 2


def test_recognize_goes_on_after_a_strip_image(tmp_path):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    cv2.imwrite(str(catalog / "work-0.png"), artwork(0))
    strip = _png(tmp_path / "strip.png", 2, 600)
    r = art2mus("recognize", "--catalog", catalog, strip, catalog / "work-0.png")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(lines) == 2 and "too small" in lines[0]["error"] and lines[1]["artwork_id"] == "work-0"


# --- one line and exit 2 -----------------------------------------------------------------------------

def test_read_only_catalog_with_a_stale_index(tmp_path):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    cv2.imwrite(str(catalog / "work-0.png"), artwork(0))
    load_catalog(catalog)
    cv2.imwrite(str(catalog / "work-6.png"), artwork(6))  # the index is stale now
    for p in [catalog, catalog / ".art2mus-index"]:
        p.chmod(0o555)
    try:
        if os.access(catalog / ".art2mus-index", os.W_OK):
            pytest.skip("running as a user who can write read-only folders (root)")
        cat = load_catalog(catalog)
        assert sorted(cat.artworks) == ["work-0", "work-6"]
    finally:
        for p in [catalog, catalog / ".art2mus-index"]:
            p.chmod(0o755)


def test_read_only_index_is_used_in_memory_even_for_root(tmp_path, caplog):
    """Root ignores permissions; the fault (a cache that cannot be written) is caused by a folder where the
    work's cache file must go instead: the catalog works from memory, the fault is logged, no temp file is left,
    and the folder (not ours) is kept."""
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    cv2.imwrite(str(catalog / "work-0.png"), artwork(0))
    index = catalog / ".art2mus-index"
    index.mkdir()
    (index / "work-0.npz").mkdir()  # the temp file cannot be renamed onto it
    cat = load_catalog(catalog)
    assert list(cat.artworks) == ["work-0"] and cat.rebuilt == 1
    assert "cannot be written" in caplog.text and "indexed in memory" in caplog.text, caplog.text
    assert (index / "work-0.npz").is_dir() and not list(index.glob(".*.tmp.npz"))


@pytest.mark.parametrize("out", ["/proc/clip.wav", "/dev/full", "{file}/under/clip.wav", "{image}", "x.mp3"])
def test_generate_refuses_bad_outputs_before_any_work(tmp_path, tiny_bundle, artwork_png, out):
    afile = tmp_path / "a-file"
    afile.write_text("x")
    image = tmp_path / "picture.wav"  # an image named .wav: not overwritten
    image.write_bytes(cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))[1].tobytes())
    out = out.format(file=afile, image=image)
    r = art2mus("generate", artwork_png, "--out", out, "--steps", 2, "--seconds", 0.3, "--bundle", tiny_bundle)
    one_line_exit_2(r)
    assert cv2.imdecode(np.fromfile(image, np.uint8), cv2.IMREAD_COLOR) is not None and afile.read_text() == "x"
    assert not (tmp_path / "x.mp3").exists()


@pytest.fixture
def artwork_png(tmp_path):
    return _png(tmp_path / "art.png", 64, 64)


def test_play_refuses_nan_crossfade_and_unwritable_out(tmp_path):
    clip = tmp_path / "c.wav"
    sf.write(clip, np.zeros(16000, np.float32) + 0.1, 16000)
    one_line_exit_2(art2mus("play", clip, "--crossfade", "nan", "--out", tmp_path / "o.wav"))
    one_line_exit_2(art2mus("play", clip, "--out", "/proc/o.wav"))
    config = tmp_path / "config.yaml"
    config.write_text("audio:\n  sink: file:/proc/nowhere/o.wav\n")
    one_line_exit_2(art2mus("--config", config, "play", clip))


def test_config_and_catalog_yaml_that_are_not_utf8(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_bytes(b"audio:\n  sink: \xff\xfe\n")
    with pytest.raises(Art2MusError, match="not UTF-8"):
        load_config(config)
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    cv2.imwrite(str(catalog / "w.png"), artwork(0))
    (catalog / "catalog.yaml").write_bytes(b"artworks:\n  w: {title: \xff}\n")
    with pytest.raises(Art2MusError, match="not UTF-8"):
        load_catalog(catalog)


def test_catalog_yaml_errors_name_the_artwork_and_check_generation(tmp_path):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    cv2.imwrite(str(catalog / "w.png"), artwork(0))
    for gen in ("{steps: -5}", "{guidance: .nan}", "{clip_seconds: .inf}", "{sampler: x}"):
        (catalog / "catalog.yaml").write_text(f"artworks:\n  w:\n    generation: {gen}\n")
        with pytest.raises(Art2MusError, match="artwork 'w'"):
            load_catalog(catalog)


@pytest.mark.parametrize("mutate,message", [
    (lambda m: m["stages"]["unet"].pop("sha256"), "no sha256"),
    (lambda m: m["dims"].update(extra=1), "malformed"),
    (lambda m: m["limits"].update(max_seconds="long"), "max_seconds"),
    (lambda m: m["stages"]["unet"].update(file="/etc/passwd"), "not a path inside the bundle"),
    (lambda m: m["stages"]["unet"].update(file="../../etc/passwd"), "not a path inside the bundle"),
    (lambda m: m.update(stages=[]), "lacks stage"),
])
def test_bad_manifests_are_one_clear_error(tmp_path, tiny_bundle, mutate, message):
    bundle = tmp_path / "b"
    shutil.copytree(tiny_bundle, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    mutate(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Art2MusError, match=message):
        load_bundle(bundle)


# --- unclear ---------------------------------------------------------------------------------------

def test_wrong_kind_of_path_is_named(tmp_path):
    afile = tmp_path / "f"
    afile.write_text("x")
    with pytest.raises(Art2MusError, match="is a file, not a bundle folder"):
        load_bundle(afile)
    with pytest.raises(Art2MusError, match="is a folder"):
        load_config(tmp_path)
    with pytest.raises(Art2MusError, match="is a file, not a folder"):
        load_catalog(afile)


def test_inf_is_not_a_timeout():
    with pytest.raises(Art2MusError, match="finite"):
        parse_config({"audio": {"stall_seconds": float("inf")}})
    with pytest.raises(Art2MusError, match="finite"):
        parse_config({"camera": {"leave_seconds": float("inf")}})


def test_seconds_inf_is_not_called_too_short(tmp_path, artwork_png, tiny_bundle):
    r = art2mus("generate", artwork_png, "--out", tmp_path / "c.wav", "--seconds", "inf", "--bundle", tiny_bundle)
    one_line_exit_2(r)
    assert "too short" not in r.stderr and "at most 60" in r.stderr


def test_written_files_are_readable_by_others(tmp_path, artwork_png, tiny_bundle):
    out = tmp_path / "c.wav"
    r = art2mus("generate", artwork_png, "--out", out, "--seconds", 0.3, "--steps", 2, "--bundle", tiny_bundle)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_mode & 0o044 == 0o044
    for path in Path(tiny_bundle).rglob("*"):
        assert path.stat().st_mode & 0o044 == 0o044, path


def test_missing_playlists_and_ambient_folders_are_said(tmp_path, caplog):
    from installation.audio.clips import load_library
    from installation.config import AudioConfig

    library = load_library(AudioConfig(playlists=str(tmp_path / "nope"), ambient=str(tmp_path / "nada")))
    assert library.ambient() is None
    said = caplog.text
    assert "audio.playlists=" in said and "audio.ambient=" in said and "is not a folder" in said


def test_a_clip_too_short_to_play_is_refused_not_fatal():
    """Fuzzer's find: one sample at 192 kHz resampled to nothing made the loudness meter raise in the
    receiver thread (the process exited 4)."""
    from installation.audio.clips import prepare_clip
    from installation.audio.levels import ClipRefused
    from installation.config import AudioConfig

    with pytest.raises(ClipRefused, match="too short to play"):
        prepare_clip(np.full(1, 0.1, np.float32), 192000, AudioConfig(), "a", "fresh", "a#1")
