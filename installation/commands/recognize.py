"""`art2mus recognize`: which catalog artwork each image shows, one JSON line per image."""

from __future__ import annotations

import json
import os

from installation.config import Config

HELP = "which catalog artwork each image shows: one JSON line per image"


def add_arguments(p) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--catalog", required=True, help="folder of artwork images (stem = artwork id)")


def run(cfg: Config, args) -> int:
    import cv2

    from installation.catalog import load_catalog
    from installation.recognition import Recognizer

    catalog = load_catalog(args.catalog)
    recognizer = Recognizer(catalog.features)
    for image in args.images:
        frame = cv2.imread(image, cv2.IMREAD_COLOR) if os.path.isfile(image) else None
        if frame is None:
            why = "is not an image OpenCV can read" if os.path.isfile(image) else "does not exist (or is not a file)"
            line = {"image": image, "artwork_id": None, "confidence": 0.0, "error": f"{image!r} {why}"}
        else:
            r = recognizer.recognize(frame)
            line = {"image": image, "artwork_id": r.artwork_id, "confidence": r.confidence, "method": r.method,
                    "seconds": round(r.seconds, 4)}
            if r.artwork_id:
                info = catalog.artworks[r.artwork_id].info
                line.update({k: v for k, v in (("title", info.title), ("artist", info.artist), ("year", info.year)) if v})
        print(json.dumps(line), flush=True)
    return 0
