"""The curators' review page (`art2mus review`): a Flask app on 127.0.0.1 over one playlists folder.

Per artwork: its image and title/artist from the catalog, its clips with an audio player and a
waveform picture drawn here from the samples, keep / reject buttons, and "regenerate" (a new clip
with a new seed, made in a background thread and shown when ready).

Nothing from the browser is used as a path: a clip is served by its manifest id (the file the
manifest names, and only inside the playlists folder), an image by its artwork id in the catalog,
the page's own files from static/ by Flask's safe join. Every change to the manifest is made under
its lock after re-reading it (manifest.update), so two tabs, precompute and a regeneration never
lose each other's changes. Requests must name 127.0.0.1/localhost as their host (a DNS-rebinding
page cannot reach it) and changes must be JSON (a cross-site form cannot post one)."""

from __future__ import annotations

import dataclasses
import logging
import queue
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
from flask import Flask, abort, jsonify, request, send_file

from engines.errors import Art2MusError
from engines.options import GenerationOptions
from installation.catalog import Catalog, load_catalog
from installation.config import ModelConfig
from installation.curator import manifest as mf

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
LOCAL_NAMES = ("127.0.0.1", "localhost")
STATIC = Path(__file__).parent / "static"
WAVEFORM_COLUMNS = 400
AUDIO_TYPES = {".flac": "audio/flac", ".wav": "audio/wav"}


@dataclass(frozen=True)
class ReviewSettings:
    playlists: Path
    catalog: Path | None = None
    model: ModelConfig = ModelConfig()
    bundle: str | None = None  # for regenerate; None: model.bundle, else the tiny demo bundle


def waveform_svg(path: Path, columns: int = WAVEFORM_COLUMNS, height: int = 60) -> str:
    """The clip's min/max envelope per column as one SVG polygon (drawn from the samples)."""
    wave, _ = sf.read(str(path), dtype="float32", always_2d=True)
    wave = wave.mean(axis=1)
    if wave.size == 0:
        wave = np.zeros(1, np.float32)
    columns = max(1, min(columns, wave.size))
    chunks = np.array_split(wave, columns)
    hi = np.array([c.max() for c in chunks])
    lo = np.array([c.min() for c in chunks])
    scale = max(float(np.abs(wave).max()), 1e-9)
    mid = height / 2
    top = [f"{x},{mid - mid * v / scale:.1f}" for x, v in enumerate(hi)]
    bottom = [f"{x},{mid - mid * v / scale:.1f}" for x, v in reversed(list(enumerate(lo)))]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {columns} {height}" preserveAspectRatio="none" '
            f'width="{columns}" height="{height}"><rect width="100%" height="100%" fill="#f4f1ea"/>'
            f'<polygon points="{" ".join(top + bottom)}" fill="#3b5b7a" stroke="#3b5b7a" stroke-width="0.5"/></svg>')


class Regenerator:
    """One background thread makes regenerated clips one at a time; the model is loaded on first use."""

    def __init__(self, settings: ReviewSettings, catalog: Catalog | None):
        self.settings, self.catalog = settings, catalog
        self.jobs: dict[str, dict] = {}
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._pipe = None
        self._thread = threading.Thread(target=self._work, name="regenerate", daemon=True)
        self._thread.start()

    def submit(self, artwork_id: str) -> dict:
        job = {"id": secrets.token_hex(6), "artwork_id": artwork_id, "state": "queued", "clip_id": None, "error": None}
        with self._lock:
            self.jobs[job["id"]] = job
        self._queue.put(job["id"])
        return dict(job)

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [dict(j) for j in self.jobs.values()]

    def _set(self, job_id: str, **changes) -> None:
        with self._lock:
            self.jobs[job_id].update(changes)

    def options(self, artwork_id: str, entries: list[dict]) -> GenerationOptions:
        """The settings of the artwork's latest clip (so a replacement matches its playlist), else
        the configured ones with the catalog's per-artwork overrides."""
        mine = [e for e in entries if e.get("artwork_id") == artwork_id]
        used = {e.get("seed") for e in mine}
        seed = secrets.randbelow(2**31)
        while seed in used:
            seed = secrets.randbelow(2**31)
        if mine:
            e = mine[-1]
            return GenerationOptions(seconds=e["seconds"], steps=e["steps"], guidance=e["guidance"],
                                     scheduler=e["scheduler"], seed=seed, origin=f"manifest entry {e.get('id')!r}")
        m = self.settings.model
        base = GenerationOptions(m.clip_seconds, m.steps, m.guidance, m.scheduler, seed, origin="config model")
        return self.catalog.artworks[artwork_id].info.generation.apply(base, artwork_id)

    def _work(self) -> None:
        from installation.curator.precompute import ClipMaker, Job, PlaylistWriter, read_image_bytes

        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            artwork_id = self.jobs[job_id]["artwork_id"]
            self._set(job_id, state="running")
            try:
                if self._pipe is None:
                    from installation.generator.model import open_pipeline

                    self._pipe = open_pipeline(self.settings.model, self.settings.bundle)
                art = self.catalog.artworks[artwork_id]
                options = self.options(artwork_id, mf.read_manifest(self.settings.playlists)["clips"])
                wave = ClipMaker(self._pipe).clip(artwork_id, read_image_bytes(art.path), str(art.path), options)
                info = ClipMaker(self._pipe).info()
                writer = PlaylistWriter(self.settings.playlists, info["bundle"], info["sample_rate"], origin="review")
                entry = writer.add(Job(artwork_id, None, options), wave)
                self._set(job_id, state="done", clip_id=entry["id"])
                log.info("regenerated a clip for %s (seed %d): %s", artwork_id, options.seed, entry["file"])
            except Exception as exc:  # noqa: BLE001 - shown on the page, the thread goes on
                log.exception("regenerating a clip for %s failed", artwork_id)
                self._set(job_id, state="failed", error=str(exc))

    def stop(self) -> None:
        self._queue.put(None)


def create_app(settings: ReviewSettings) -> Flask:
    folder = Path(settings.playlists).expanduser().resolve()
    catalog_folder = Path(settings.catalog).expanduser().resolve() if settings.catalog else None
    settings = dataclasses.replace(settings, playlists=folder, catalog=catalog_folder)
    if not (folder / mf.MANIFEST).is_file():
        raise Art2MusError(f"{str(folder)!r} has no {mf.MANIFEST}: make it with `art2mus precompute --out {folder}`")
    mf.read_manifest(folder)  # a broken manifest is refused now, not on the first request
    catalog = load_catalog(settings.catalog, index=False) if settings.catalog else None
    regenerator = Regenerator(settings, catalog) if catalog else None
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config.update(settings=settings, catalog=catalog, regenerator=regenerator)
    waveforms: dict[tuple, str] = {}

    def entry_or_404(clip_id: str) -> tuple[dict, Path]:
        for e in mf.read_manifest(folder)["clips"]:
            if e.get("id") == clip_id:
                path = mf.clip_file(folder, e)
                if path is None or path.suffix.lower() not in AUDIO_TYPES:
                    abort(404)
                return e, path
        abort(404)

    @app.before_request
    def local_only():
        host = (request.host or "").rsplit(":", 1)[0].strip("[]")
        if host not in LOCAL_NAMES:
            abort(400, description="this page answers only to 127.0.0.1 / localhost")
        if request.method == "POST" and not request.is_json:
            abort(415, description="changes are sent as JSON")

    @app.get("/")
    def index():
        return send_file(STATIC / "index.html", max_age=0)

    @app.get("/api/state")
    def state():
        # a listed clip whose file is not there (a precompute killed before renaming it into place;
        # its rerun finishes it) is not shown: it could not be played or drawn
        clips = [e for e in mf.read_manifest(folder)["clips"] if mf.clip_file(folder, e) is not None]
        ids = sorted(set(catalog.artworks if catalog else ()) | {e.get("artwork_id") for e in clips
                                                                 if isinstance(e.get("artwork_id"), str)})
        artworks = []
        for a in ids:
            art = catalog.artworks.get(a) if catalog else None
            artworks.append({
                "id": a, "title": art.info.title if art else None, "artist": art.info.artist if art else None,
                "year": art.info.year if art else None, "image": art is not None, "regenerate": art is not None,
                "clips": [{k: e.get(k) for k in ("id", "status", "seed", "seconds", "steps", "guidance", "scheduler",
                                                 "loudness_lufs", "created", "origin", "index", "bundle")}
                          for e in clips if e.get("artwork_id") == a],
            })
        return jsonify(artworks=artworks, jobs=regenerator.snapshot() if regenerator else [],
                       catalog=str(settings.catalog) if settings.catalog else None, playlists=str(folder))

    @app.get("/clip/<clip_id>")
    def clip(clip_id: str):
        _, path = entry_or_404(clip_id)
        return send_file(path, mimetype=AUDIO_TYPES[path.suffix.lower()], conditional=True, max_age=0)

    @app.get("/waveform/<clip_id>.svg")
    def waveform(clip_id: str):
        _, path = entry_or_404(clip_id)
        st = path.stat()
        key = (clip_id, st.st_mtime_ns, st.st_size)
        if key not in waveforms:
            try:
                waveforms[key] = waveform_svg(path)
            except (sf.LibsndfileError, RuntimeError, OSError):
                abort(404)
        return app.response_class(waveforms[key], mimetype="image/svg+xml")

    @app.get("/image/<artwork_id>")
    def image(artwork_id: str):
        art = catalog.artworks.get(artwork_id) if catalog else None
        if art is None:
            abort(404)
        return send_file(art.path.resolve(), max_age=0)

    @app.post("/api/clip/<clip_id>/status")
    def set_status(clip_id: str):
        status = (request.get_json(silent=True) or {}).get("status")
        if status not in mf.STATUSES:
            abort(400, description=f"status must be one of {', '.join(mf.STATUSES)}")

        def change(data: dict):
            for e in data["clips"]:
                if e.get("id") == clip_id:
                    e["status"] = status
                    e["reviewed"] = mf.now()
                    return dict(e)
            return None

        entry = mf.update(folder, change)
        if entry is None:
            abort(404)
        log.info("clip %s of %s: %s", clip_id, entry.get("artwork_id"), status)
        return jsonify(id=clip_id, status=status)

    @app.post("/api/artwork/<artwork_id>/regenerate")
    def regenerate(artwork_id: str):
        if regenerator is None:
            abort(409, description="regenerate needs the catalog: start review with --catalog DIR")
        if artwork_id not in catalog.artworks:
            abort(404)
        return jsonify(regenerator.submit(artwork_id)), 202

    return app


def start_server(settings: ReviewSettings, port: int = 0):
    """The app on 127.0.0.1:port (0: a free one) in a thread; returns (server, url). server.shutdown() stops it."""
    from werkzeug.serving import make_server

    app = create_app(settings)
    try:
        server = make_server(HOST, port, app, threaded=True)
    except OSError as exc:
        raise Art2MusError(f"cannot listen on {HOST}:{port} ({exc.strerror}); choose another --port") from None
    threading.Thread(target=server.serve_forever, name="review-http", daemon=True).start()
    return server, f"http://{HOST}:{server.server_port}/"


def serve(settings: ReviewSettings, port: int, on_ready: Callable[[str], None] = lambda url: None) -> None:
    """Serves until Ctrl-C; calls on_ready(url) once the page is listening."""
    server, url = start_server(settings, port)
    on_ready(url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
