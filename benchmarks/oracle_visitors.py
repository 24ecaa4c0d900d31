"""Scratch (README, "Since 2026-12-06, fifth"): recognition with the visitor's true pixels set aside (Recognizer.oracle_mask),
and with the true outline too (a trailing argument): python3 benchmarks/oracle_visitors.py RENDERER SEED VIEWS NEGATIVES [outline]"""
import sys, numpy as np, cv2, collections
sys.path.insert(0, "benchmarks")
import diagnose_recognition as D
from bench_recognition import Renderer, catalog_recognizer, unknown_seed
r, seed, n, negs = (int(a) for a in sys.argv[1:5]); outline = len(sys.argv) > 5
ren = Renderer(r, 0.5); clear = D._without(ren, D.DROPS[r]["visitors"])
works = [(f"work-{i:04d}", ren.kind(i), ren.art(i)) for i in range(100)]
rec = catalog_recognizer(ren, [(w, a) for w, _, a in works]).recognizer
def mask_of(f, g):
    b = lambda x: cv2.GaussianBlur(x, (0, 0), 2).astype(np.int16)
    m = (np.abs(b(f) - b(g)).sum(2) > 60).astype(np.uint8) * 255
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    return cv2.dilate(m, np.ones((5, 5), np.uint8))
def both(f, g, corners=None):
    rec.oracle_mask = None
    a = rec.recognize(f).artwork_id
    m = mask_of(f, g)
    if not m.any():
        return a, a, False
    rec.oracle_mask = m
    b = (D._with_outline(rec, f, corners) if outline and corners is not None else rec.recognize(f)).artwork_id
    rec.oracle_mask = None
    return a, b, True
rng = np.random.default_rng(seed); t = collections.Counter()
for k in range(n):
    i = int(rng.integers(0, 100)); wid, kind, art = works[i]
    f, corners = ren.view_and_corners(art, 9000 + k); g = clear.view(art, 9000 + k)
    a, b, vis = both(f, g, corners)
    t["right before"] += a == wid; t["right after"] += b == wid; t["visitor views"] += vis
    t["gained"] += a != wid and b == wid; t["lost"] += a == wid and b != wid
    t["wrong after"] += b is not None and b != wid
    if a != b: print(k, kind, wid, a, "->", b, flush=True)
for k in range(negs):
    art = ren.unknown(unknown_seed(seed, 20_000 + k))
    f = ren.view(art, 60_000 + k); g = clear.view(art, 60_000 + k)
    a, b, vis = both(f, g)
    t["neg fp before"] += a is not None; t["neg fp after"] += b is not None; t["neg visitor views"] += vis
print(dict(t))
