"""`art2mus recognize`: which catalog artwork each image shows, one JSON line per image."""

from __future__ import annotations

import json

from installation.config import Config

HELP = "which catalog artwork each image shows: one JSON line per image"


def add_arguments(p) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--catalog", required=True, help="folder of artwork images (stem = artwork id)")


def run(cfg: Config, args) -> int:
    import cv2

    from engines.errors import Art2MusError
    from engines.preprocess import read_bgr
    from installation.catalog import load_catalog, recognizer_for

    catalog = load_catalog(args.catalog)
    recognizer = recognizer_for(catalog)
    for image in args.images:
        try:
            frame = read_bgr(image, cv2.IMREAD_COLOR)
        except Art2MusError as exc:
            frame, error = None, str(exc)
        if frame is None:
            line = {"image": image, "artwork_id": None, "confidence": 0.0, "error": error}
        else:
            r = recognizer.recognize(frame)
            line = {"image": image, "artwork_id": r.artwork_id, "confidence": r.confidence, "method": r.method,
                    "seconds": round(r.seconds, 4)}
            if r.artwork_id:
                info = catalog.artworks[r.artwork_id].info
                line.update({k: v for k, v in (("title", info.title), ("artist", info.artist), ("year", info.year)) if v})
        print(json.dumps(line), flush=True)
    return 0
