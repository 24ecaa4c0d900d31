"""Recognition on rendered gallery views: top-1 accuracy by kind, wrong-artwork rate, false positives
on empty walls and works not in the catalog, and frames per second on one core at 640x480.

    python3 benchmarks/bench_recognition.py [--renderer 1|2|3] [--works 100] [--views 600] [--negatives 300]

Renderer 1 (installation/camera/synthetic.py, the one the recogniser was first tuned on): the
catalog holds the exact source images; views: perspective up to 25 degrees, 30-85 % of the frame's
area, uneven light, glare, mild colour casts, blur, noise, JPEG, a visitor half of the time.
Renderer 2 (installation/camera/synthetic2.py, written independently): other kinds of work
(landscapes, Mondrian-like grids, ...), the work's limiting side 25-85 % of the frame's, strong
whole-scene casts and gamma, glare up to half the work, frames of any width and colour or none,
walls of any colour and texture, cheap-camera blur, noise and JPEG; the catalog holds another scan
of each work (resized, re-encoded, a little cropped, colour-shifted), never the view's source.
Renderer 3 (installation/camera/synthetic3.py, written from a specification by someone who read neither
renderer nor the recogniser, and never tuned on): a pinhole camera up to 35 degrees off-axis, portraits,
pointillist dots and ink among its kinds, neighbouring works cut by the frame's border, wall labels,
spotlights, glass reflections, barrel distortion, one or two visitors, auto-exposure, cheap sensors, and a
catalog photo that is another photograph of the work. It is the held-out check: no threshold was chosen on it.

Real photographs (kind "photo"): images that ship inside installed packages (scikit-image's
skimage/data, scikit-learn's sklearn/datasets/images; located without importing them) or
`--photos DIR`, added to the catalog (as another scan with renderer 2) and hung into views by the
chosen renderer. Skipped, with a message, where none is on the machine.

    python3 benchmarks/bench_recognition.py --visits 200 [--frames 10]

adds what a kiosk experiences: visits of `--frames` recognitions at camera.recognition_hz (one
camera pose and light per visit; the visitor, blur, noise and JPEG change from frame to frame)
through the camera's debouncer (as configured, fed each Recognition): a visit is right when the
debouncer enters its work and no other, "within 1.5 s" when it enters it by then; a visit to an
empty wall or an unknown work is a false positive when it enters any. Beside it, the same frames
through a Tracker (recognise, then confirm the held work on its place: the camera process's way), with
its frames/s and the frames where its answer is not the search's.

    python3 benchmarks/bench_recognition.py --strangers 400

tries the held work on scenes where it is not (each view a new scene): confirmations must say none.

    python3 benchmarks/bench_recognition.py --idle 50

a kiosk's quiet hours: 50 moments each of 5 scenes with nobody in front (an empty wall, a work not in the
catalog, a catalog work), through a Tracker: how many frames were searched, confirmed or still (the
scene of a frame searched or confirmed a moment ago, given its answer unchecked), what they cost, and any work
named on a scene without one.

    --set name=value   overrides a RecognizerSettings field (tuning: set on one renderer, report on the other)
    --drop NAME[,NAME] draws every view and visit without these things (renderers 2 and 3; DROPS: visitors,
                       glare, ...): what they cost a --dump's cross-validated rows (docs/RECOGNITION.md, eighteenth)

Targets (issue 12, each renderer): >= 97 % top-1, <= 2 % false positives, <= 0.5 % wrong, >= 30
frames/s with 100 works, real time with 500; per visit >= 99 % enter the right work within 1.5 s.
"""

from __future__ import annotations

import argparse
import collections
import copy
import dataclasses
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from installation.camera import synthetic, synthetic2, synthetic3
from installation.camera.debounce import Debouncer
from installation.catalog import load_catalog, recognizer_for
from installation.config import CameraConfig
from installation.recognition import Recognizer, RecognizerSettings
from installation.recognition import lookalikes as lookalike
from installation.recognition.embedding import Embedder
from installation.recognition.track import Tracker

NEGATIVE_SEED = 1_000_000
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
ENTER_WITHIN = 1.5  # seconds after the visitor arrives by which the right work should be entered


def draws(seed: int, renderer: int) -> np.random.Generator:
    """The random stream a benchmark `--seed` draws its views' works from: main's catalog views first, one
    `integers(0, works)` each in order, then its visits'. quad_recall.py and diagnose_recognition.py draw the same
    first views, so that their view k is the benchmark's."""
    return np.random.default_rng([seed, renderer])


def view_seed(seed: int, k: int) -> int:
    """The view seed of a benchmark `--seed`'s k-th view of a catalog work (see `draws`)."""
    return seed * 100_000 + k


def unknown_seed(seed: int, k: int) -> int:
    """The art seed of the k-th work not in the catalog for a benchmark `--seed`: other works for every
    seed (until session 15 every seed drew the same ones, so a threshold tuned on seed 1's negatives was
    reported on seed 2's views of the very same works)."""
    return NEGATIVE_SEED + seed * 100_000 + k


def shipped_photos(extra: str | None) -> list[Path]:
    """Colour photographs that ship inside installed packages (found without importing them), or in
    `extra`. Small, grey or synthetic images (logos, text, charts) are left out."""
    folders = [Path(extra)] if extra else []
    for package, sub in (("skimage", "data"), ("sklearn", "datasets/images")):
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            folders.append(Path(spec.origin).parent / sub)
    skip = {"logo", "text", "page", "chessboard_rgb", "chessboard_gray", "color", "no_time_for_that_tiny",
            "lbpcascade_frontalface_opencv", "horse", "phantom", "ihc", "cell", "microaneurysms"}
    out = []
    for folder in folders:
        for p in sorted(folder.glob("*")) if folder.is_dir() else []:
            if p.suffix.lower() in PHOTO_SUFFIXES and p.stem.lower() not in skip:
                img = cv2.imread(str(p), cv2.IMREAD_COLOR)
                if img is not None and min(img.shape[:2]) >= 200:
                    out.append(p)
    return out


class Renderer:
    """The catalog images, views and moments of one renderer (3: installation/camera/synthetic3.py,
    written without reading the other two and never tuned on: a held-out check)."""

    def __init__(self, which: int, occlusion: float):
        self.which = which
        self.settings1 = synthetic.ViewSettings(occlusion=occlusion)
        self.settings2 = synthetic2.Scene2(visitor=occlusion * 0.8)
        self.settings3 = synthetic3.Scene3(visitor_chance=occlusion)
        self._art: dict = {}

    def kind(self, i: int) -> str:
        if self.which == 3:
            return synthetic3.kind3(i)
        return synthetic.KINDS[i % len(synthetic.KINDS)] if self.which == 1 else synthetic2.kind_of(i)

    def art(self, i: int) -> np.ndarray:
        if i not in self._art:
            self._art[i] = self.unknown(i)
        return self._art[i]

    def unknown(self, seed: int) -> np.ndarray:
        """A work of this renderer's (one not in the catalog, for a seed outside its range)."""
        return {1: synthetic.artwork, 2: synthetic2.artwork2, 3: synthetic3.artwork3}[self.which](seed)

    def catalog_image(self, art: np.ndarray, i: int) -> np.ndarray:
        return {1: lambda: art, 2: lambda: synthetic2.catalog_scan(art, i),
                3: lambda: synthetic3.catalog_photo3(art, i)}[self.which]()

    def view(self, art: np.ndarray | None, seed: int, moment: int | None = None) -> np.ndarray:
        return self.view_and_corners(art, seed, moment)[0]

    def view_and_corners(self, art: np.ndarray | None, seed: int, moment: int | None = None,
                         info: dict | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """A view and where its work's corners are (None: an empty wall); `info` is filled with what
        renderer 2 drew (a visitor, the work's span, ...), and left as it is by the others."""
        if self.which == 1:
            return synthetic.view_with_truth(art, seed, self.settings1, moment=moment)
        if self.which == 2:
            return synthetic2.render_view(art, seed, self.settings2, moment=moment, info=info)
        return synthetic3.render_view3(art, seed, self.settings3, moment=moment)


# Scene settings switched off by --drop NAME, by renderer (Scene2's and Scene3's fields): the same views drawn
# again without those things, everything else alike (renderer 1 draws from one stream: it cannot).
DROPS = {
    2: {"visitors": {"visitor": 0.0}, "glare": {"glare": 0.0}, "frames": {"frames": 0.0},
        "textured-wall": {"textured_wall": 0.0}, "cast": {"cast": 0.0}},
    3: {"visitors": {"visitor_chance": 0.0, "second_visitor_chance": 0.0}, "glare": {"glare_chance": 0.0},
        "reflections": {"reflection_chance": 0.0}, "distortion": {"distortion_chance": 0.0},
        "cheap-sensor": {"cheap_sensor_chance": 0.0}, "motion-blur": {"motion_blur_chance": 0.0},
        "shadows": {"shadow_chance": 0.0}, "neighbours": {"neighbour_chance": 0.0}, "labels": {"label_chance": 0.0},
        "mats": {"mat_chance": 0.0}, "frames": {"frame_chance": 0.0}, "textured-wall": {"textured_wall_chance": 0.0},
        "cast": {"max_cast": 0.0}},
}


def drop_changes(renderer: int, names: str | None) -> dict | str | None:
    """The scene settings that --drop's names (comma-separated) switch off for this renderer (None: no --drop), or
    the line that says what is wrong with the names (the value quoted and cut short: a newline or a terminal's
    escape in it must not make it two lines or another colour)."""
    if names is None:
        return None
    known = DROPS.get(renderer, {})
    if not known:
        return (f"--drop {_shown(names)} with --renderer {renderer}: only renderers 2 and 3 draw a view again without "
                "a thing and everything else alike; use --renderer 2 or 3")
    wanted = names.split(",")
    unknown = [n for n in wanted if n not in known]
    if unknown:
        return (f"--drop {_shown(names)}: renderer {renderer} draws no {_shown(unknown[0])}; use any of "
                f"{','.join(known)}")
    return {field: value for n in wanted for field, value in known[n].items()}


def checked_drop(renderer: int, names: str | None) -> dict | None:
    """--drop's scene settings for this renderer (None: no --drop), or its refusal: one line and exit 2."""
    changes = drop_changes(renderer, names)
    if isinstance(changes, str):
        _refuse(changes)
    return changes


def _shown(value: str, most: int = 60) -> str:
    """A value as a refusal line quotes it: repr (escapes, no newline), at most `most` characters of it."""
    return repr(value[:most]) + ("..." if len(value) > most else "")


def drawn_without(ren: Renderer, changes: dict) -> Renderer:
    """The same renderer (its works, its other settings) with these scene settings changed (renderers 2 and 3:
    renderer 1 cannot draw a view again without a thing and everything else alike)."""
    if ren.which not in DROPS:
        raise ValueError(f"renderer {ren.which}: only renderers {' and '.join(map(str, DROPS))} draw a view again "
                         "without a thing")
    out = copy.copy(ren)
    if ren.which == 2:
        out.settings2 = dataclasses.replace(ren.settings2, **changes)
    else:
        out.settings3 = dataclasses.replace(ren.settings3, **changes)
    return out


@dataclasses.dataclass(frozen=True)
class Built:
    recognizer: Recognizer
    index_s: float  # seconds load_catalog took
    built_s: float  # seconds the Recognizer took (grain chance checks grow with the square of the grainy works),
    # its catalog's look-alikes learnt (catalog.recognizer_for)


def catalog_recognizer(ren: Renderer, works: list[tuple[str, np.ndarray]], settings: RecognizerSettings | None = None,
                       embedder: Embedder | None = None, learn: bool = True) -> Built:
    """A recogniser of `works` ((id, art on the wall), in catalog order), as a kiosk builds one: each work's
    catalog image (this renderer's scan of it) written to a folder, the folder loaded by load_catalog, the
    recogniser built by catalog.recognizer_for (`learn`: its verifier refitted on the catalog's look-alikes)."""
    with tempfile.TemporaryDirectory() as tmp:
        for k, (wid, art) in enumerate(works):
            cv2.imwrite(str(Path(tmp) / f"{wid}.png"), ren.catalog_image(art, k))
        start = time.perf_counter()
        catalog = load_catalog(Path(tmp))
        index_s = time.perf_counter() - start
        start = time.perf_counter()
        recognizer = recognizer_for(catalog, settings or RecognizerSettings(), embedder, learn)
    return Built(recognizer, index_s, time.perf_counter() - start)


def settings_from(pairs: list[str]) -> RecognizerSettings:
    fields = {f.name: f.type for f in dataclasses.fields(RecognizerSettings)}
    changes = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in fields:
            _refuse(f"--set {pair}: no RecognizerSettings field {name!r}; fields: {', '.join(fields)}")
        kind = type(getattr(RecognizerSettings(), name))
        try:
            if kind is bool and value.lower() not in ("true", "false"):
                raise ValueError(value)
            changes[name] = value.lower() == "true" if kind is bool else kind(value)
        except ValueError:
            _refuse(f"--set {pair}: {name} takes a {kind.__name__}")
    try:
        return RecognizerSettings(**changes)
    except ValueError as e:
        _refuse(f"--set: {e}")


def _refuse(line: str) -> None:
    """Bad input: one line and exit 2."""
    print(line, file=sys.stderr)
    raise SystemExit(2)


def check_numbers(args: argparse.Namespace, own: dict | None = None) -> None:
    """Counts, seed and chance within their ranges (a negative seed is no numpy seed), or one line and exit 2.
    `own`: another script's ranges, {argument: (low, high or None)}, over these or beside them."""
    limits = {"works": (1, None), "views": (0, None), "negatives": (0, None), "seed": (0, None),
              "occlusion": (0.0, 1.0), "visits": (0, None), "frames": (1, None),
              "strangers": (0, None), "idle": (0, None), **(own or {})}
    for name, (low, high) in limits.items():
        value, flag = getattr(args, name, None), "--" + name.replace("_", "-")
        if value is not None and not (low <= value and (high is None or value <= high)):  # NaN fails too
            _refuse(f"{flag} {value}: use {low}-{high}" if high is not None else f"{flag} {value}: use {low} or more")


def check_outputs(args: argparse.Namespace, names: tuple[str, ...]) -> None:
    """Each output file given goes into a folder that exists and can be written, and no two outputs are one file;
    or one line and exit 2 before anything is rendered (found only when written, it would cost the whole run)."""
    given: dict[Path, str] = {}
    for name in names:
        value, flag = getattr(args, name, None), "--" + name.replace("_", "-")
        if value is None:
            continue
        path = Path(value).resolve()
        if value.endswith(("/", os.sep)) or path.is_dir() or not path.parent.is_dir() or \
                not os.access(path.parent, os.W_OK | os.X_OK):
            _refuse(f"{flag} {value!r}: not a file in an existing folder this user can write; give a file path whose "
                    "folder exists and is writable")
        if path in given:
            _refuse(f"{flag} {value!r}: the same file as {given[path]}; give each output its own file")
        given[path] = flag


def write_lines(path: str, records: list[dict], flag: str) -> None:
    """The records as JSON lines; a file that cannot be written after all (a full disk, a folder made read-only
    during the run): one line and exit 2, not a traceback."""
    try:
        Path(path).write_text("".join(json.dumps(d) + "\n" for d in records))
    except OSError as e:
        _refuse(f"{flag} {path!r}: cannot be written ({e.strerror or e}); free the disk or give a writable folder")


def view_arguments(p: argparse.ArgumentParser, renderer: int = 2, views: int = 300) -> None:
    """The arguments the recognition benchmarks share: whose views, how many works and views, the seed,
    how often a visitor stands in front (checked by check_numbers)."""
    p.add_argument("--renderer", type=int, choices=(1, 2, 3), default=renderer)
    p.add_argument("--works", type=int, default=100)
    p.add_argument("--views", type=int, default=views)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--occlusion", type=float, default=0.5, help="chance of a visitor partly in front")


def catalog_works(ren: Renderer, n: int, photos: list[Path]) -> list[tuple[str, str, np.ndarray]]:
    """(id, kind, art on the wall) of the renderer's first n works, then each photograph (kind "photo",
    560 pixels on its longer side), in catalog order."""
    works = [(f"work-{i:04d}", ren.kind(i), ren.art(i)) for i in range(n)]
    for path in photos:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        scale = 560 / max(img.shape[:2])
        works.append((f"photo-{path.stem}", "photo", cv2.resize(img, None, fx=scale, fy=scale,
                                                                interpolation=cv2.INTER_AREA)))
    return works


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    view_arguments(p, renderer=1, views=600)
    p.add_argument("--negatives", type=int, default=300)
    p.add_argument("--photos", default=None, help="a folder of real photographs to add (besides shipped ones)")
    p.add_argument("--no-photos", action="store_true")
    p.add_argument("--no-lookalikes", action="store_true",
                   help="the shipped verifier, not refitted on the catalog's look-alikes as the kiosk's is")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a RecognizerSettings override")
    p.add_argument("--embedding", default=None, help="another recognition network than the shipped one (an ONNX file)")
    p.add_argument("--drop", default=None, metavar="NAME[,NAME]",
                   help="draw every view and visit without these (DROPS: renderers 2 and 3): what they cost")
    p.add_argument("--show-errors", action="store_true")
    p.add_argument("--dump", default=None, help="write each view's outcome as JSON lines (for crossval_recognition.py)")
    p.add_argument("--visits", type=int, default=0, help="also this many visits through the debouncer")
    p.add_argument("--frames", type=int, default=10, help="recognitions per visit")
    p.add_argument("--dump-visits", default=None, help="write each visit's recognitions as JSON lines (crossval)")
    p.add_argument("--dump-lookalikes", default=None,
                   help="write each catalog work's look-alikes as JSON lines (crossval_recognition.py --lookalikes): its "
                        "catalog image hung on a plain wall, recognised, its own pairs left out")
    p.add_argument("--strangers", type=int, default=0,
                   help="also this many views, each a new scene, through one Tracker: the work held from the view "
                        "before is tried first on each, where it is not (a confirmation must say none)")
    p.add_argument("--idle", type=int, default=0,
                   help="also this many moments of each of 5 scenes per kind with nobody in front (a kiosk's quiet "
                        "hours), through a Tracker: frames searched, confirmed and still, and their cost")
    args = p.parse_args()
    check_numbers(args)
    check_outputs(args, ("dump", "dump_visits", "dump_lookalikes"))
    cv2.setNumThreads(1)  # one core, as the targets say
    changes = checked_drop(args.renderer, args.drop)
    ren = Renderer(args.renderer, args.occlusion)
    if changes is not None:
        ren = drawn_without(ren, changes)
    rng = draws(args.seed, args.renderer)
    photos = [] if args.no_photos else shipped_photos(args.photos)
    if not args.no_photos and not photos:
        print("real photographs: none on this machine (install scikit-image or scikit-learn, or pass --photos DIR); "
              "skipped")
    works = catalog_works(ren, args.works, photos)
    settings = settings_from(args.set)
    embedder = Embedder(Path(args.embedding)) if args.embedding and settings.embedded else None
    built = catalog_recognizer(ren, [(wid, art) for wid, _, art in works], settings, embedder,
                               learn=not args.no_lookalikes)
    recognizer = built.recognizer
    results = collections.defaultdict(collections.Counter)
    times, errors, dumped = [], [], []
    drawn = collections.defaultdict(collections.Counter)  # renderer 2's views by what was drawn (_conditions)
    base = args.seed * 100_000
    n_photo_views = min(len(photos) * 4, args.views // 5) if photos else 0
    for k in range(args.views + n_photo_views):
        i = int(rng.integers(0, args.works)) if k < args.views else args.works + (k - args.views) % len(photos)
        wid, kind, art = works[i]
        info: dict = {}
        r = recognizer.recognize(ren.view_and_corners(art, view_seed(args.seed, k), info=info)[0])
        times.append(r.seconds)
        outcome = "right" if r.artwork_id == wid else ("none" if r.artwork_id is None else "wrong")
        results[kind][outcome] += 1
        for condition in _conditions(info):
            drawn[condition][outcome] += 1
        dumped.append(_record(kind, wid, r, recognizer))
        if outcome != "right":
            errors.append((kind, wid, view_seed(args.seed, k), r))
    for k in range(args.negatives):
        empty = k % 3 == 0
        art = None if empty else ren.unknown(unknown_seed(args.seed, k))
        r = recognizer.recognize(ren.view(art, base + 50_000 + k))
        times.append(r.seconds)
        name = "empty wall" if empty else "not in catalog"
        results[name]["false positive" if r.artwork_id else "rejected"] += 1
        dumped.append(_record(name, None, r, recognizer))
        if r.artwork_id:
            errors.append((name, "-", base + 50_000 + k, r))
    kinds = [k for k in results if k not in ("empty wall", "not in catalog")]
    pos = sum(sum(results[k].values()) for k in kinds)
    right = sum(results[k]["right"] for k in kinds)
    wrong = sum(results[k]["wrong"] for k in kinds)
    neg = sum(sum(results[n].values()) for n in ("empty wall", "not in catalog"))
    fp = sum(results[n]["false positive"] for n in ("empty wall", "not in catalog"))
    t = np.array(times)
    pct = lambda a, b: f"{100 * a / max(b, 1):.1f} %"
    undrawn = f" drawn without {args.drop}" if args.drop else ""
    print(f"renderer {args.renderer}{undrawn}: catalog {len(works)} works ({len(photos)} photographs), indexed in "
          f"{built.index_s:.1f} s, recogniser built in {built.built_s:.1f} s ({len(recognizer.grain_line)} grainy works)")
    learnt = recognizer.learnt
    print(f"verifier: {f'refitted on the catalog look-alikes {learnt.summary()}' if learnt else 'shipped (--no-lookalikes)'}")
    for name in sorted(results):
        c = results[name]
        if name in kinds:
            print(f"  {name:<15} top-1 {pct(c['right'], sum(c.values())):>7} ({c['right']}/{sum(c.values())}), "
                  f"wrong {c['wrong']}, rejected {c['none']}")
        else:
            print(f"  {name:<15} false positives {pct(c['false positive'], sum(c.values()))} "
                  f"({c['false positive']}/{sum(c.values())})")
    print(f"top-1 accuracy {pct(right, pos)} ({right}/{pos}); wrong artwork {pct(wrong, pos)} ({wrong}); "
          f"false positives {pct(fp, neg)} ({fp}/{neg})")
    if drawn:
        print(_by_condition(drawn))
    if settings.second_look:
        print(_second_looks(dumped))
    if len(t):
        print(f"per frame: mean {1000 * t.mean():.1f} ms, p95 {1000 * np.percentile(t, 95):.1f} ms -> "
              f"{1 / t.mean():.0f} frames/s on one core")
    if args.dump:
        write_lines(args.dump, dumped, "--dump")
    if args.dump_lookalikes:
        alike = lookalikes(recognizer, ren, works)
        write_lines(args.dump_lookalikes, alike, "--dump-lookalikes")
        print(f"look-alikes: {sum(bool(d['candidates']) for d in alike)} of {len(alike)} catalog works compared with "
              "others (the rest matched by their own keypoints or grain, or nothing compared)")
    if args.visits:
        print(_visits(recognizer, args, ren, works, rng))
    if args.strangers:
        print(_strangers(recognizer, args, ren, works, rng))
    if args.idle:
        print(_idle(recognizer, args, works, changes))
    if args.show_errors:
        for kind, wid, seed, r in errors[:60]:
            print(f"  {kind} {wid} (view seed {seed}): got {r.artwork_id} via {r.method} conf {r.confidence} "
                  f"{r.candidates}")
    return 0


SPANS = (0.35, 0.55)  # the work's limiting side over the frame's: small / middle / large (_conditions)
STRONG_CAST = 0.6  # log of the light colour's strongest channel over its weakest (renderer 2 draws 0-0.7)
GLARE, NO_GLARE = "under glare", "no glare"
SMALL, MIDDLE, LARGE = (f"small (span < {SPANS[0]})", f"middle (span {SPANS[0]}-{SPANS[1]})",
                        f"large (span >= {SPANS[1]})")
STRONG, MILD = "strong cast", "mild cast"
VISITOR, NOBODY = "with a visitor", "no visitor"
CONDITIONS = (GLARE, NO_GLARE, SMALL, MIDDLE, LARGE, STRONG, MILD, VISITOR, NOBODY)


def _conditions(info: dict) -> list[str]:
    """What renderer 2 drew in a view that its misses may be down to (the others draw nothing in `info`)."""
    if "span" not in info:
        return []
    span = info["span"]
    return [GLARE if info["glare"] > 0 else NO_GLARE,
            SMALL if span < SPANS[0] else (LARGE if span >= SPANS[1] else MIDDLE),
            STRONG if info["cast"] >= STRONG_CAST else MILD,
            VISITOR if info["visitor"] else NOBODY]


def _by_condition(drawn: dict) -> str:
    """Top-1 over renderer 2's catalog views by what was drawn in them."""
    def cell(c: str) -> str:
        right, n = drawn[c]["right"], sum(drawn[c].values())
        return f"{c} {100 * right / n:.1f} % ({right}/{n})"
    return "by what was drawn: " + "; ".join(cell(c) for c in CONDITIONS if c in drawn)


def _second_looks(dumped: list[dict]) -> str:
    """What the second look (the frame's glare taken off, after a first look found nothing) decided."""
    found = [d for d in dumped if d["glare_off"]]
    right = sum(d["got"] == d["truth"] for d in found)
    fp = sum(d["truth"] is None for d in found)
    return (f"second look, glare taken off: {len(found)} accepted ({right} right, {len(found) - right - fp} wrong, "
            f"{fp} false positives)")


def _record(kind: str, truth: str | None, r, recognizer: Recognizer) -> dict:
    """What crossval_recognition.py needs to decide a view again under other global thresholds
    (with, for each candidate, whether it is a textured work: those must explain more)."""
    cands = [list(c) for c in r.candidates or []]  # verify.Candidate's fields in order (Candidate.of reads them)
    textured = recognizer.textured_of(r.candidates or [])
    return {"kind": kind, "truth": truth, "got": r.artwork_id, "method": r.method, "confidence": r.confidence,
            "candidates": cands, "textured": textured, "checks": [list(c) for c in r.checks or []],
            "glare_off": r.glare_off}  # the second look's candidates: the first look's are not kept


def lookalikes(recognizer: Recognizer, ren: Renderer, works: list) -> list[dict]:
    """Each catalog work's look-alikes (installation/recognition/lookalikes.py: `others`, its catalog image on a
    plain wall, `frame`, recognised and the pairs of every other work compared there kept) as dump records with
    no truth, each pair one to reject: what the kiosk learns of its catalog (crossval_recognition.py --lookalikes
    refits on them as it does)."""
    out = []
    for k, (wid, _, art) in enumerate(works):
        others = lookalike.others(recognizer, wid, ren.catalog_image(art, k))
        out.append({**_record("look-alike", None, others, recognizer), "work": wid})
    return out


def _visits(recognizer: Recognizer, args, ren: Renderer, works: list, rng) -> str:
    """Per-visit outcomes through the camera's debouncer (see the module's docstring), fed whole
    Recognitions (the visit's frames decide together), beside it on the same frames fed artwork ids
    only (k of n alone, as before), and fed a Tracker's Recognitions (recognise, then confirm the work
    held on its place: the camera process's way). One Tracker for every visit, as one camera sees visit
    after visit: a work held from the visit before is tried on the next visit's first frame (harsher than a
    kiosk, where that frame shows the same wall)."""
    cam = CameraConfig()
    modes = ("evidence", "k of n", "tracked")
    tracker = Tracker(recognizer)
    dumped = []
    tally = {m: collections.Counter() for m in modes}
    enter_times = {m: [] for m in modes}
    searched, tracked = [], []  # seconds per frame
    spent = collections.defaultdict(list)  # a Tracker's seconds per frame, by what it did (_tracker_did)
    differ = collections.Counter()  # frames where the tracker's answer is not the search's
    for v in range(args.visits):
        scene = visit_scene(ren, works, args.seed, v, rng)
        debouncers = {m: Debouncer(cam.enter_k, cam.enter_n, cam.leave_seconds, cam.min_dwell_seconds)
                      for m in modes}
        entered, first = {m: set() for m in modes}, {m: None for m in modes}
        dumped.append({"truth": scene.truth, "frames": []})
        for f in range(args.frames):
            now = f / cam.recognition_hz
            frame = visit_frame(ren, scene.art, args.seed, v, f)
            r = recognizer.recognize(frame)
            held, before = tracker.held is not None, dataclasses.replace(tracker.counts)
            t = tracker.recognize(frame)
            searched.append(r.seconds)
            tracked.append(t.seconds)
            truth = "empty wall" if scene.art is None else ("unknown work" if scene.negative else "catalog work")
            spent[_tracker_did(t, held, before, tracker.counts, truth)].append(t.seconds)
            if t.artwork_id != r.artwork_id:
                truth = scene.truth
                differ["none where the search found a work" if t.artwork_id is None else
                       ("the visit's work" if t.artwork_id == truth else "a WRONG work")
                       + (" where the search found none" if r.artwork_id is None else
                          " where the search found another")] += 1
            dumped[-1]["frames"].append({**_record("visit", dumped[-1]["truth"], r, recognizer),
                                         "tracked": {"got": t.artwork_id, "confidence": t.confidence,
                                                     "method": t.method, "confirmed": t.confirmed,
                                                     "still": t.still}})
            for m, d in debouncers.items():
                fed = {"evidence": r, "k of n": r.artwork_id, "tracked": t}[m]
                if d.update(fed, now) and d.current:
                    entered[m].add(d.current)
                    if first[m] is None and d.current == scene.work:
                        first[m] = now
        for m in modes:
            t = tally[m]
            if scene.negative:
                t["negatives"] += 1
                t["false"] += bool(entered[m])
            else:
                t["positives"] += 1
                t["right"] += entered[m] == {scene.work}
                t["wrong"] += bool(entered[m] - {scene.work})
                if first[m] is not None:
                    enter_times[m].append(first[m])
                    t["soon"] += first[m] <= ENTER_WITHIN + 1e-9
    if args.dump_visits:
        write_lines(args.dump_visits, dumped, "--dump-visits")
    pct = lambda a, b: f"{100 * a / max(b, 1):.1f} %"
    lines = [f"visits ({args.frames} recognitions at {cam.recognition_hz:g} Hz each, debouncer enter_k {cam.enter_k} "
             f"of {cam.enter_n}):"]
    for m in modes:
        t = tally[m]
        median = f"{np.median(enter_times[m]):.1f} s" if enter_times[m] else "-"
        lines.append(f"  {m:<8}: right {pct(t['right'], t['positives'])} ({t['right']}/{t['positives']}), "
                     f"within {ENTER_WITHIN} s {pct(t['soon'], t['positives'])}, median time to enter {median}; "
                     f"a wrong work entered {pct(t['wrong'], t['positives'])}; false positive visits "
                     f"{pct(t['false'], t['negatives'])} ({t['false']}/{t['negatives']})")
    c, n = tracker.counts, len(tracked)
    lines.append(f"  tracked frames: {c.confirmed} confirmed ({c.rechecked_held} of them second acceptances, of "
                 f"{c.rechecked} tried: a work one search accepted by low texture or grain, decided again where its "
                 f"outline is found anew), {c.still} still (the scene of a frame checked a "
                 f"moment ago; {c.recalled} of them an earlier one than the last), {c.searched} searched "
                 f"({c.failed} after a failed confirmation or second acceptance); per frame searched "
                 f"{1000 * np.mean(searched):.1f} ms, tracked "
                 f"{1000 * np.mean(tracked):.1f} ms (p95 {1000 * np.percentile(tracked, 95):.1f}) -> "
                 f"{1 / np.mean(tracked):.0f} frames/s on one core; answers unlike the search's: "
                 + (", ".join(f"{k} {v}/{n}" for k, v in sorted(differ.items())) or "none"))
    total = sum(map(sum, spent.values()))
    lines.append("  where a Tracker's time went (share of it, frames, mean per frame):")
    for what, seconds in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
        lines.append(f"    {what:<58} {100 * sum(seconds) / total:5.1f} %  {len(seconds):4d} frames  "
                     f"{1000 * np.mean(seconds):6.1f} ms")
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class VisitScene:
    """A visit's scene as --visits draws it (visit_scene)."""
    negative: bool  # a quarter of the visits: an empty wall or a work not in the catalog
    work: str  # the catalog work drawn for it (drawn for a negative too, so that later visits draw alike)
    art: np.ndarray | None  # what hangs on the wall (None: an empty wall)

    @property
    def truth(self) -> str | None:
        """The catalog work in view (None for a negative)."""
        return None if self.negative else self.work


def visit_scene(ren: Renderer, works: list, seed: int, v: int, rng) -> VisitScene:
    """Visit v's scene as --visits draws it (search_split.py draws the same)."""
    negative = v % 4 == 3
    i = int(rng.integers(0, len(works)))
    if negative:
        return VisitScene(negative, works[i][0], None if v % 8 == 7 else ren.unknown(unknown_seed(seed, 10_000 + v)))
    return VisitScene(negative, works[i][0], works[i][2])


def visit_frame(ren: Renderer, art: np.ndarray | None, seed: int, v: int, f: int) -> np.ndarray:
    """Frame f of visit v: one pose and light per visit; the visitor, blur, noise and JPEG change frame to frame."""
    return ren.view(art, seed * 100_000 + 80_000 + v, moment=f)


def _tracker_did(r, held: bool, before, after, truth: str) -> str:
    """What a Tracker did with a frame, from its counts before and after it (TrackCounts) and whether a work was
    held before it; a search with nothing held is told by what the visit shows (`truth`) and what it found."""
    grew = {f.name: getattr(after, f.name) - getattr(before, f.name) for f in dataclasses.fields(after)}
    if r.still:
        return "still (a scene checked a moment ago)"
    if grew["rechecked_held"]:
        return "second acceptance held"
    if grew["confirmed"]:
        return "confirmed"
    if grew["failed"]:
        return f"searched after a failed {'second acceptance' if grew['rechecked'] else 'confirmation'}"
    if held:
        return "searched anyway (search_every)"
    return f"searched, nothing held: {truth}, {'found a work' if r.artwork_id else 'found none'}"


def _strangers(recognizer: Recognizer, args, ren: Renderer, works: list, rng) -> str:
    """Confirmations where the held work is not: every view a new scene (half of them a catalog work,
    half an empty wall or a work not in the catalog) seen for two moments (so that a low-texture work
    accepted on both is held too: Tracker), through one Tracker, so the work held from the scene before is
    tried first on each new scene's first moment at its old place. A confirmation accepted on another scene
    is a wrong work unless the scene happens to show the same work again; a new scene taken for a recent
    frame's still scene (given its answer unchecked) is a frame unseen."""
    tracker = Tracker(recognizer)
    c = collections.Counter()
    for k in range(args.strangers):
        if k % 2:
            wid, _, art = works[int(rng.integers(0, len(works)))]
        else:
            wid, art = None, None if k % 4 == 0 else ren.unknown(unknown_seed(args.seed, 20_000 + k))
        tried = tracker.held is not None and tracker.trusted
        r = tracker.recognize(ren.view(art, args.seed * 100_000 + 60_000 + k))
        c["tried"] += tried
        c["confirmed right"] += r.confirmed and r.artwork_id == wid
        c["confirmed WRONG"] += r.confirmed and r.artwork_id != wid
        c["still"] += r.still
        tracker.recognize(ren.view(art, args.seed * 100_000 + 60_000 + k, moment=1))  # the scene's next moment
    return (f"strangers ({args.strangers} views, each a new scene): the held work tried on {c['tried']}, confirmed "
            f"wrongly on {c['confirmed WRONG']}, rightly (the same work again) on {c['confirmed right']}; "
            f"taken for a recent frame's still scene (unchecked) {c['still']}")


IDLE_SCENES = 5  # scenes of each kind in --idle


def _idle(recognizer: Recognizer, args, works: list, changes: dict | None = None) -> str:
    """A kiosk's quiet hours: `--idle` moments of each of IDLE_SCENES scenes of a kind with nobody in front
    (this renderer with no visitor: noise, blur, JPEG and what else it draws anew stay), one Tracker a
    scene. The cost of a frame is what the camera process pays; a work named on an empty wall or an
    unknown work is a false positive. `changes`: --drop's, applied here too."""
    calm = Renderer(args.renderer, 0.0)
    if changes is not None:
        calm = drawn_without(calm, changes)
    lines = [f"idle ({args.idle} moments of each of {IDLE_SCENES} scenes a kind, nobody in front, "
             "one Tracker a scene):"]
    for kind in ("empty wall", "not in catalog", "catalog work"):
        c, seconds = collections.Counter(), []
        for k in range(IDLE_SCENES):
            truth, art = None, None
            if kind == "not in catalog":
                art = calm.unknown(unknown_seed(args.seed, 30_000 + k))
            elif kind == "catalog work":
                truth, _, art = works[(17 * k + 3) % len(works)]
            tracker = Tracker(recognizer)
            for m in range(args.idle):
                r = tracker.recognize(calm.view(art, args.seed * 100_000 + 90_000 + 10 * k, moment=m))
                seconds.append(r.seconds)
                c["right" if r.artwork_id and r.artwork_id == truth else "WRONG" if r.artwork_id else "none"] += 1
            c.update({"searched": tracker.counts.searched, "confirmed": tracker.counts.confirmed,
                      "still": tracker.counts.still})
        named = (f"the work named on {c['right']}, none on {c['none']}, another on {c['WRONG']}"
                 if kind == "catalog work" else f"a work named on {c['WRONG']}")
        lines.append(f"  {kind:<15}: {len(seconds)} frames: {c['searched']} searched, {c['confirmed']} confirmed, "
                     f"{c['still']} still; {named}; mean {1000 * np.mean(seconds):.1f} ms -> "
                     f"{1 / np.mean(seconds):.0f} frames/s on one core")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
