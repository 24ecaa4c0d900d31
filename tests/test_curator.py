"""Curators' tools: precompute (resumable, survives kill -9), the kiosk's manifest playlists, the
review app's API (Flask test client; the real-browser test is test_review_browser.py), Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from installation.cli import main
from installation.curator import manifest as mf

REPO = Path(__file__).resolve().parents[1]
FAST = ["--seconds", "0.5", "--steps", "2"]


def make_catalog(folder: Path, works: int = 2, bad: bool = False, yaml: str | None = None) -> Path:
    from installation.demo import composition

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(works):
        cv2.imwrite(str(folder / f"work{i}.png"), composition(np.random.default_rng(i)))
    if bad:
        (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    if yaml:
        (folder / "catalog.yaml").write_text(yaml)
    return folder


def entries(out: Path) -> list[dict]:
    return json.loads((out / mf.MANIFEST).read_text())["clips"]


def clip_files(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.glob("*/*.flac") if not p.name.startswith(mf.TEMP_PREFIX)}


def precompute(*args) -> int:
    return main(["precompute", *map(str, args)])


def assert_killed_run_left_no_unlisted_clip(out: Path, listed: list[dict], frames: int) -> None:
    """After a kill -9: no unlisted clip file, ever; every listed file there reads whole; at most the
    last listed clip may lack its file (killed between the manifest write and the rename), and then
    its complete temp file is there for the rerun to finish."""
    assert clip_files(out) <= {e["file"] for e in listed}
    missing = [e for e in listed if not (out / e["file"]).is_file()]
    assert missing in ([], listed[-1:])
    for e in listed:
        path = out / e["file"]
        if e in missing:
            path = mf.pending_temp(out, e)
            assert path is not None, f"listed clip {e['file']} has neither its file nor its temp file"
        assert sf.info(str(path)).frames == frames


@pytest.fixture(scope="module")
def playlists(tmp_path_factory, tiny_bundle):
    """A precomputed folder of two works x 2 clips (work1 with 3 steps from catalog.yaml)."""
    root = tmp_path_factory.mktemp("curator")
    cat = make_catalog(root / "catalog", yaml="artworks:\n  work1:\n    title: Second Work\n    artist: A. Painter\n"
                                                 "    generation:\n      steps: 3\n")
    out = root / "playlists"
    assert precompute("--catalog", cat, "--clips", 2, "--out", out, "--bundle", tiny_bundle, *FAST) == 0
    return cat, out


def test_precompute_writes_flac_and_a_complete_manifest(playlists, tiny_bundle):
    from engines.bundle import load_bundle

    cat, out = playlists
    clips = entries(out)
    assert sorted((e["artwork_id"], e["index"], e["seed"]) for e in clips) == [
        ("work0", 0, 0), ("work0", 1, 1), ("work1", 0, 0), ("work1", 1, 1)]
    assert clip_files(out) == {e["file"] for e in clips}
    fingerprint = load_bundle(tiny_bundle, verify=False).fingerprint
    for e in clips:
        assert e["status"] == "new" and e["bundle"] == fingerprint and e["seconds"] == 0.5
        assert e["origin"] == "precompute"
        assert e["steps"] == (3 if e["artwork_id"] == "work1" else 2)  # catalog.yaml's per-artwork setting
        assert e["file"].startswith(e["artwork_id"] + "/") and e["created"]
        info = sf.info(str(out / e["file"]))
        assert info.format == "FLAC" and info.samplerate == e["sample_rate"] == 16000 and info.frames == 8000
        assert isinstance(e["loudness_lufs"], float) and -120 < e["loudness_lufs"] < 0


def test_precompute_rerun_redoes_nothing_and_more_clips_adds_only_the_missing(playlists, tiny_bundle, tmp_path):
    cat, original = playlists
    out = tmp_path / "copy"
    import shutil

    shutil.copytree(original, out)
    before = entries(out)
    assert precompute("--catalog", cat, "--clips", 2, "--out", out, "--bundle", tiny_bundle, *FAST) == 0
    assert entries(out) == before  # nothing redone, nothing duplicated (same ids and times)
    assert precompute("--catalog", cat, "--clips", 3, "--out", out, "--bundle", tiny_bundle, *FAST) == 0
    after = entries(out)
    assert after[:4] == before
    assert sorted((e["artwork_id"], e["index"]) for e in after[4:]) == [("work0", 2), ("work1", 2)]
    assert clip_files(out) == {e["file"] for e in after}


def test_a_bad_image_fails_that_artwork_and_the_others_go_on(tmp_path, tiny_bundle, capsys):
    cat = make_catalog(tmp_path / "catalog", works=1, bad=True)
    out = tmp_path / "out"
    assert precompute("--catalog", cat, "--clips", 1, "--out", out, "--bundle", tiny_bundle, *FAST) == 1
    err = capsys.readouterr().err
    assert "broken" in err and "not an image OpenCV can read" in err
    assert [e["artwork_id"] for e in entries(out)] == ["work0"]
    assert not (out / "broken").exists() or not any((out / "broken").iterdir())


def test_precompute_refuses_bad_arguments_before_any_work(tmp_path, capsys):
    cat = make_catalog(tmp_path / "catalog", works=1)
    assert main(["precompute", "--catalog", str(cat), "--clips", "2"]) == 2  # no --out, no audio.playlists
    assert "give --out DIR" in capsys.readouterr().err
    assert main(["precompute", "--catalog", str(cat), "--clips", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--clips 0 must be >= 1" in capsys.readouterr().err
    assert main(["precompute", "--catalog", str(tmp_path / "none"), "--clips", "1", "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["review", "--playlists", str(tmp_path / "o2")]) == 2
    assert "make it with `art2mus precompute" in capsys.readouterr().err


def test_precompute_survives_kill_9_and_resumes(tmp_path, tiny_bundle):
    cat = make_catalog(tmp_path / "catalog", works=2)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "installation.cli", "precompute", "--catalog", str(cat), "--clips", "5", "--out",
            str(out), "--bundle", str(tiny_bundle), "--seconds", "1", "--steps", "3"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / mf.MANIFEST).is_file() and len(entries(out)) >= 3:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    listed = entries(out)
    assert 3 <= len(listed) < 10, "the run finished before it could be killed"
    assert_killed_run_left_no_unlisted_clip(out, listed, frames=16000)
    r = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    done = entries(out)
    assert done[:len(listed)] == listed  # finished clips were not redone
    assert sorted((e["artwork_id"], e["index"]) for e in done) == [(a, k) for a in ("work0", "work1") for k in range(5)]
    assert clip_files(out) == {e["file"] for e in done}
    assert not [p for p in out.rglob(f"{mf.TEMP_PREFIX}*")]


def test_clean_removes_only_our_leftovers(tmp_path):
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    mf.write_manifest(out, {"format": 1, "clips": [{"id": "x", "artwork_id": "a", "file": "a/k0000-seed0.flac"}]})
    mine = out / "a" / f"{mf.TEMP_PREFIX}{os.getpid()}-ab.flac"  # a live process's temp file
    keep = [out / "a" / "k0000-seed0.flac", out / "a" / "mine.wav", mine]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = [out / "a" / "k0001-seed1.flac", out / "a" / f"{mf.TEMP_PREFIX}{dead.stdout.strip()}-cd.flac",
            out / f"{mf.TEMP_PREFIX}{dead.stdout.strip()}-ef.json"]
    for p in keep + gone:
        p.write_bytes(b"x")
    with mf.locked(out):
        assert sorted(mf.clean(out)) == sorted(gone)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in gone)


def test_a_listed_clip_without_its_file_is_skipped_then_finished_by_the_rerun(playlists, tiny_bundle, tmp_path):
    """A kill between the manifest write and the rename leaves a listed clip whose file is not there
    (made here by hand): the kiosk and the review page skip it; the rerun renames its complete temp
    file into place, or, with none, makes the job again (same seed); nothing is duplicated."""
    import shutil

    from installation.audio.clips import load_library
    from installation.config import AudioConfig
    from installation.curator.review import ReviewSettings, create_app

    cat, original = playlists
    out = tmp_path / "pl"
    shutil.copytree(original, out)
    before = entries(out)
    by_job = {(e["artwork_id"], e["index"]): e for e in before}
    pending, gone = by_job[("work0", 1)], by_job[("work1", 0)]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    temp = out / "work0" / f"{mf.TEMP_PREFIX}{pid}-{pending['id']}.flac"
    (out / pending["file"]).rename(temp)  # written whole and listed, not renamed: the rerun finishes it
    (out / gone["file"]).unlink()  # listed, no file and no temp file: the rerun makes it again
    half = out / "work1" / f"{mf.TEMP_PREFIX}{pid}-0123abcd.flac"  # a kill while writing another clip
    half.write_bytes(b"fLaC half")
    skipped = {pending["id"], gone["id"]}

    lib = load_library(AudioConfig(playlists=str(out)))
    played = {Path(c.name).relative_to(out.resolve()).as_posix() for clips in lib.playlists.values() for c in clips}
    assert played == {e["file"] for e in before if e["id"] not in skipped}
    app = create_app(ReviewSettings(out, cat, bundle=str(tiny_bundle)))
    client = app.test_client()
    shown = {c["id"] for a in client.get("/api/state").get_json()["artworks"] for c in a["clips"]}
    assert shown == {e["id"] for e in before} - skipped
    for clip_id in skipped:
        assert client.get(f"/clip/{clip_id}").status_code == 404
        assert client.get(f"/waveform/{clip_id}.svg").status_code == 404
    app.config["regenerator"].stop()

    assert precompute("--catalog", cat, "--clips", 2, "--out", out, "--bundle", tiny_bundle, *FAST) == 0
    after = entries(out)
    assert after[:3] == [e for e in before if e["id"] != gone["id"]]  # the finished one kept its entry, as it was
    remade = after[3]
    assert (remade["artwork_id"], remade["index"], remade["seed"], remade["file"]) == (
        "work1", 0, gone["seed"], gone["file"])
    assert sorted((e["artwork_id"], e["index"]) for e in after) == sorted(by_job)  # no duplicate
    assert clip_files(out) == {e["file"] for e in after}
    assert sf.info(str(out / pending["file"])).frames == 8000
    assert not [p for p in out.rglob(f"{mf.TEMP_PREFIX}*")]  # the finished temp was renamed, the half one removed
    lib = load_library(AudioConfig(playlists=str(out)))
    assert sum(map(len, lib.playlists.values())) == 4


def test_manifest_entries_pointing_outside_the_folder_are_not_followed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "secret.flac").write_bytes(b"x")
    assert mf.clip_path(out, {"file": "../secret.flac"}) is None
    assert mf.clip_path(out, {"file": str(tmp_path / "secret.flac")}) is None
    assert mf.clip_path(out, {"file": "a/k0000-seed0.flac"}) == (out / "a" / "k0000-seed0.flac").resolve()


# --- the kiosk plays a manifest's clips -------------------------------------------------------

def test_kiosk_plays_kept_and_new_clips_never_rejected(playlists, tmp_path):
    import shutil

    from installation.audio.clips import load_library
    from installation.config import AudioConfig

    out = tmp_path / "pl"
    shutil.copytree(playlists[1], out)
    data = json.loads((out / mf.MANIFEST).read_text())
    statuses = {("work0", 0): "kept", ("work0", 1): "rejected", ("work1", 0): "rejected", ("work1", 1): "new"}
    for e in data["clips"]:
        e["status"] = statuses[(e["artwork_id"], e["index"])]
    mf.write_manifest(out, data)
    sf.write(out / "work0" / "stray.wav", np.zeros(16000, np.float32) + 0.1, 16000)  # unlisted: never played
    by_file = {e["file"]: e for e in data["clips"]}

    def played(**kw) -> dict[str, list[str]]:
        lib = load_library(AudioConfig(playlists=str(out), **kw))
        return {a: sorted(Path(c.name).relative_to(out.resolve()).as_posix() for c in clips)
                for a, clips in lib.playlists.items()}

    def files(status_set) -> dict[str, list[str]]:
        chosen: dict[str, list[str]] = {}
        for f, e in sorted(by_file.items()):
            if e["status"] in status_set:
                chosen.setdefault(e["artwork_id"], []).append(f)
        return chosen

    assert played() == files({"kept", "new"})
    assert played(playlist_statuses=("kept",)) == files({"kept"})
    # an artwork change starts a playlist clip at once, and a rejected one never plays
    from installation.audio.mixer import Mixer, MixerSettings

    cfg = AudioConfig(playlists=str(out))
    mixer = Mixer(MixerSettings.from_config(cfg), load_library(cfg))
    for artwork in ("work0", "work1", "work0", "work1"):
        mixer.set_artwork(artwork)
        assert mixer.current.clip.source == "playlist"
        assert Path(mixer.current.clip.name).relative_to(out.resolve()).as_posix() in files({"kept", "new"})[artwork]
    with pytest.raises(Exception, match="rejected"):
        AudioConfig(playlist_statuses=("kept", "rejected"))


def test_a_folder_without_manifest_plays_wav_and_flac_as_before(tmp_path):
    from installation.audio.clips import load_library
    from installation.config import AudioConfig

    rng = np.random.default_rng(0)
    (tmp_path / "a").mkdir()
    sf.write(tmp_path / "a" / "one.wav", 0.1 * rng.standard_normal(16000).astype(np.float32), 16000)
    sf.write(tmp_path / "a" / "two.flac", 0.1 * rng.standard_normal(16000).astype(np.float32), 16000)
    lib = load_library(AudioConfig(playlists=str(tmp_path)))
    assert sorted(Path(c.name).name for c in lib.playlists["a"]) == ["one.wav", "two.flac"]


# --- the review app (API) ---------------------------------------------------------------------

@pytest.fixture()
def review(playlists, tmp_path, tiny_bundle):
    import shutil

    from installation.config import ModelConfig
    from installation.curator.review import ReviewSettings, create_app

    out = tmp_path / "pl"
    shutil.copytree(playlists[1], out)
    app = create_app(ReviewSettings(out, playlists[0], ModelConfig(), str(tiny_bundle)))
    return app.test_client(), out


def test_review_lists_artworks_and_serves_clips_images_waveforms(review):
    client, out = review
    state = client.get("/api/state").get_json()
    assert [a["id"] for a in state["artworks"]] == ["work0", "work1"]
    work1 = state["artworks"][1]
    assert work1["title"] == "Second Work" and work1["artist"] == "A. Painter" and len(work1["clips"]) == 2
    clip = work1["clips"][0]["id"]
    r = client.get(f"/clip/{clip}")
    assert r.status_code == 200 and r.mimetype == "audio/flac" and r.data[:4] == b"fLaC"
    r = client.get(f"/waveform/{clip}.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml" and b"<polygon" in r.data
    assert client.get("/image/work0").data[:4] == b"\x89PNG"
    assert client.get("/").status_code == 200 and client.get("/static/review.js").status_code == 200


@pytest.mark.parametrize("path", ["/clip/../config.yaml", "/clip/%2e%2e/config.yaml", "/clip/..%2fmanifest.json",
                                  "/clip/%2e%2e%2f%2e%2e%2fconfig.yaml", "/waveform/..%2f..%2fconfig.yaml.svg",
                                  "/image/..%2fwork0.png", "/image/%2e%2e", "/static/../review.py",
                                  "/static/%2e%2e/review.py", "/static/..%2freview.py", "/clip/manifest.json",
                                  "/clip/work0%2fk0000-seed0.flac"])
def test_review_refuses_paths(review, path):
    client, _ = review
    assert client.get(path).status_code in (400, 404)


def test_review_refuses_other_hosts_and_form_posts(review):
    client, out = review
    clip = entries(out)[0]["id"]
    assert client.get("/api/state", headers={"Host": "evil.example:8765"}).status_code == 400
    assert client.post(f"/api/clip/{clip}/status", data={"status": "rejected"}).status_code == 415
    assert client.post(f"/api/clip/{clip}/status", json={"status": "deleted"}).status_code == 400
    assert client.post("/api/clip/nope/status", json={"status": "kept"}).status_code == 404
    assert entries(out)[0]["status"] == "new"


def test_review_status_changes_persist_and_two_tabs_do_not_lose_changes(review):
    client, out = review
    ids = [e["id"] for e in entries(out)]

    def tab(n: int) -> None:
        for i in range(12):
            clip = ids[(n + i) % len(ids)]
            status = ("kept", "rejected")[(n + i) % 2]
            assert client.post(f"/api/clip/{clip}/status", json={"status": status}).status_code == 200

    # each tab also adds a marker through the same lock, as precompute would: none may be lost
    def writer() -> None:
        for i in range(12):
            mf.update(out, lambda d, i=i: d.setdefault("markers", []).append(i))

    threads = [threading.Thread(target=tab, args=(n,)) for n in range(2)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    data = json.loads((out / mf.MANIFEST).read_text())
    assert sorted(data["markers"]) == list(range(12)) and len(data["clips"]) == 4
    assert client.post(f"/api/clip/{ids[0]}/status", json={"status": "rejected"}).status_code == 200
    assert entries(out)[0]["status"] == "rejected" and entries(out)[0]["reviewed"]


def test_review_regenerates_a_clip_with_a_new_seed(review):
    client, out = review
    before = entries(out)
    r = client.post("/api/artwork/work1/regenerate", json={})
    assert r.status_code == 202
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = client.get("/api/state").get_json()["jobs"]
        if jobs[0]["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert jobs[0]["state"] == "done", jobs
    after = entries(out)
    (new,) = [e for e in after if e["id"] == jobs[0]["clip_id"]]
    assert new["origin"] == "review" and new["index"] is None and new["status"] == "new"
    assert new["seed"] not in {e["seed"] for e in before if e["artwork_id"] == "work1"}
    assert new["steps"] == 3 and (out / new["file"]).is_file()
    assert client.post("/api/artwork/nope/regenerate", json={}).status_code == 404
    assert client.get(f"/clip/{new['id']}").status_code == 200


# --- Ray --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of 2 CPUs (two one-CPU model actors), shut down after the module."""
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("ray is not installed; .ci/run installs .[export,test], which includes it")
        pytest.skip("ray is not installed (pip install '.[cluster]')")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING",
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def test_ray_two_workers_driver_killed_mid_run_then_rerun_completes(ray_cluster, tmp_path, tiny_bundle):
    cat = make_catalog(tmp_path / "catalog", works=3, bad=True)
    out = tmp_path / "out"
    common = ["--catalog", cat, "--clips", 4, "--out", out, "--bundle", tiny_bundle, "--seconds", 1, "--steps", 3,
              "--ray", ray_cluster, "--workers", 2]
    proc = subprocess.Popen([sys.executable, "-m", "installation.cli", "precompute", *map(str, common)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / mf.MANIFEST).is_file() and len(entries(out)) >= 2:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # the driver dies; its actors go with it
    proc.wait()
    listed = entries(out)
    assert 2 <= len(listed) < 8, proc.stderr.read().decode()[-2000:]
    assert_killed_run_left_no_unlisted_clip(out, listed, frames=16000)
    # rerun (in this process, on the same cluster): the broken image fails, everything else is made once
    assert precompute(*common) == 1
    done = entries(out)
    assert done[:len(listed)] == listed  # finished clips were not redone
    assert sorted((e["artwork_id"], e["index"]) for e in done) == [(f"work{i}", k) for i in range(3) for k in range(4)]
    assert len({e["worker"] for e in done[len(listed):]}) == 2  # both actors of the rerun made clips
    assert clip_files(out) == {e["file"] for e in done}
    # the same jobs as a local run: a local rerun finds nothing to make
    assert precompute(*common[:-4]) == 1
    assert entries(out) == done
