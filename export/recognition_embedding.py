"""Train the recognition embedding (installation/recognition/embedding.py runs it) and export it to ONNX.

    python3 benchmarks/embedding_data.py --renderer 1 --out r1.npz      # numpy + the renderers
    python3 benchmarks/embedding_data.py --renderer 2 --out r2.npz
    python3 -m export.recognition_embedding r1.npz r2.npz --out installation/recognition/embedding.onnx
    python3 -m export.recognition_embedding r1.npz --held-out r2.npz --out /tmp/r1.onnx   # one direction

A place's square and its work's catalog square should meet (dot product near 1), anything else
not: a contrastive loss over a batch of works (each view against every catalog square in the
batch), with one more column for "no work" (a learnt level every catalog square must beat), which
empty walls, quads off the work and views of works left out of the batch must take. Beside the
renderers' own variety, each view is drawn again under another cast, gamma, glare, blur, noise or
occluder; a work and its view may be flipped together (a new work). Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger("art2mus.export.embedding")

DIM = 64
SIDE = 64  # installation.recognition.embedding.SIDE (export imports nothing of installation)


class EmbeddingNet(nn.Module):
    """(N, 3, SIDE, SIDE) BGR in [0, 1] -> (N, DIM) unit vectors. Each picture is standardised by its
    own channel statistics (colour constancy) and seen as it is too (absolute colour still counts)."""

    def __init__(self, dim: int = DIM):
        super().__init__()
        widths = [6, 16, 32, 64, 96]
        layers = []
        for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
            if k:  # a second look at each scale but the finest (most of the cost, little gain)
                layers += [nn.Conv2d(b, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1] * (SIDE // 16) ** 2, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = x.std(dim=(2, 3), keepdim=True) + 0.05  # a flat picture is not amplified noise
        h = self.features(torch.cat([(x - mean) / std, x * 2 - 1], 1))
        return F.normalize(self.head(h.flatten(1)), dim=1)


@dataclass(frozen=True)
class Data:
    catalog: torch.Tensor  # (W, 3, S, S) uint8
    crops: torch.Tensor  # (M, 3, S, S) uint8
    labels: np.ndarray  # (M,) work index, -1 none

    @staticmethod
    def load(paths: list[str]) -> Data:
        cats, crops, labels, offset = [], [], [], 0
        for p in paths:
            z = np.load(p)
            cats.append(z["catalog"])
            crops.append(z["crops"])
            lab = z["labels"].astype(np.int64)
            labels.append(np.where(lab >= 0, lab + offset, -1))
            offset += len(z["catalog"])
        nchw = lambda a: torch.from_numpy(np.ascontiguousarray(np.concatenate(a).transpose(0, 3, 1, 2)))
        return Data(nchw(cats), nchw(crops), np.concatenate(labels))


def _augment(x: torch.Tensor, g: torch.Generator, strength: float) -> torch.Tensor:
    """Another light, lens and visitor for each picture (floats in [0, 1])."""
    n = len(x)
    r = lambda *shape: torch.rand(*shape, generator=g)
    gain = torch.exp((r(n, 3, 1, 1) - 0.5) * 0.8 * strength)  # a cast
    x = (x * gain).clamp(0, 1) ** torch.exp((r(n, 1, 1, 1) - 0.5) * 0.8 * strength)  # gamma
    x = x * (0.6 + 0.8 * r(n, 1, 1, 1)) ** strength  # exposure
    yy, xx = torch.meshgrid(torch.linspace(0, 1, SIDE), torch.linspace(0, 1, SIDE), indexing="ij")
    glare = (r(n) < 0.3 * strength).float()[:, None, None]
    cy, cx, rad = r(n)[:, None, None], r(n)[:, None, None], 0.05 + 0.3 * r(n)[:, None, None]
    spot = glare * torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rad ** 2))
    x = x + spot[:, None] * (0.5 + 0.5 * r(n, 1, 1, 1))
    occ = (r(n) < 0.25 * strength)
    for k in torch.nonzero(occ).flatten().tolist():  # a visitor's dark shape from one side
        w = int(SIDE * (0.15 + 0.3 * float(r(1))))
        at = 0 if float(r(1)) < 0.5 else SIDE - w
        x[k, :, int(SIDE * float(r(1)) * 0.5):, at:at + w] = r(3, 1, 1) * 0.4
    blur = r(n) < 0.3 * strength
    if blur.any():
        x[blur] = F.avg_pool2d(F.pad(x[blur], (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    x = x + torch.randn(x.shape, generator=g) * (0.03 * strength * r(n, 1, 1, 1))
    return x.clamp(0, 1)


def _shift(x: torch.Tensor, g: torch.Generator, amount: float) -> torch.Tensor:
    """A quad a little off: each picture resampled through a random small affine map."""
    n = len(x)
    theta = torch.zeros(n, 2, 3)
    scale = 1 + (torch.rand(n, 2, generator=g) - 0.5) * 2 * amount
    theta[:, 0, 0], theta[:, 1, 1] = scale[:, 0], scale[:, 1]
    theta[:, :, 2] = (torch.rand(n, 2, generator=g) - 0.5) * 2 * amount
    theta[:, 0, 1], theta[:, 1, 0] = ((torch.rand(n, 2, generator=g) - 0.5) * amount).unbind(1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def _flip(a: torch.Tensor, b: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The same flip for a work and its view: another work, seen the same way."""
    for dim in (2, 3):
        m = torch.rand(len(a), generator=g) < 0.5
        a[m], b[m] = a[m].flip(dim), b[m].flip(dim)
    return a, b


@dataclass(frozen=True)
class Training:
    steps: int = 2000  # what the shipped network was trained with (~30 min on one core)
    works: int = 96  # catalog squares in a batch
    orphans: int = 32  # views of works left out of the batch (they must say no work)
    nones: int = 64  # places of no work
    lr: float = 2e-3
    temperature: float = 0.07
    seed: int = 0


def train(data: Data, t: Training) -> EmbeddingNet:
    torch.manual_seed(t.seed)
    g = torch.Generator().manual_seed(t.seed)
    rng = np.random.default_rng(t.seed)
    net = EmbeddingNet()
    none_level = nn.Parameter(torch.tensor(0.5))
    opt = torch.optim.AdamW(list(net.parameters()) + [none_level], lr=t.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, t.lr, total_steps=t.steps, pct_start=0.1)
    by_work: dict[int, np.ndarray] = {}
    pos = np.flatnonzero(data.labels >= 0)
    order = np.argsort(data.labels[pos], kind="stable")
    works, starts = np.unique(data.labels[pos][order], return_index=True)
    for w, a, b in zip(works, starts, list(starts[1:]) + [len(order)]):
        by_work[int(w)] = pos[order[a:b]]
    nones = np.flatnonzero(data.labels < 0)
    n_works = min(t.works, len(works) * 3 // 4)  # a small catalog (a test's) still leaves some out
    n_orphans = min(t.orphans, len(works) - n_works)
    start = time.time()
    for step in range(t.steps):
        chosen = rng.choice(works, n_works + n_orphans, replace=False)
        views = np.array([rng.choice(by_work[int(w)]) for w in chosen])
        anchors = data.catalog[torch.from_numpy(chosen[:n_works])].float() / 255
        seen = data.crops[torch.from_numpy(views)].float() / 255
        anchors_all, seen_pos = _flip(anchors, seen[:n_works].clone(), g)
        orphan_views = seen[n_works:]
        none_views = data.crops[torch.from_numpy(rng.choice(nones, t.nones))].float() / 255
        v = torch.cat([seen_pos, orphan_views, none_views])
        v = _shift(_augment(v, g, 1.0), g, 0.06)
        a = _shift(_augment(anchors_all, g, 0.3), g, 0.02)
        ea, ev = net(a), net(v)
        sims = ev @ ea.T
        logits = torch.cat([sims, none_level.expand(len(v), 1)], 1) / t.temperature
        target = torch.cat([torch.arange(n_works), torch.full((len(v) - n_works,), n_works)])
        loss = F.cross_entropy(logits, target) + F.cross_entropy(sims[:n_works].T / t.temperature,
                                                                  torch.arange(n_works))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == t.steps - 1:
            log.info("step %d loss %.3f none level %.3f (%.0f s)", step, loss.item(), none_level.item(),
                     time.time() - start)
    net.eval()
    return net


@torch.no_grad()
def evaluate(net: EmbeddingNet, data: Data, batch: int = 512) -> str:
    """Top-1 of each place of a work among all the data's catalog squares, and how sure the best
    was for places of no work (a quick look; the benchmark is bench_recognition.py)."""
    embed = lambda x: torch.cat([net(x[k:k + batch].float() / 255) for k in range(0, len(x), batch)])
    cat, crops = embed(data.catalog), embed(data.crops)
    sims = crops @ cat.T
    best, arg = sims.max(1)
    lab = torch.from_numpy(data.labels)
    pos = lab >= 0
    right = (arg[pos] == lab[pos]).float().mean().item()
    own = sims[pos].gather(1, lab[pos, None]).squeeze(1)
    return (f"places of a work: top-1 {100 * right:.1f} % of {int(pos.sum())}, own similarity median "
            f"{own.median():.3f}; places of none: best similarity median {best[~pos].median():.3f}, "
            f"p99 {best[~pos].quantile(0.99):.3f}")


def export(net: EmbeddingNet, out: Path) -> None:
    x = torch.rand(2, 3, SIDE, SIDE)
    torch.onnx.export(net, (x,), str(out), input_names=["squares"], output_names=["embedding"],
                      dynamic_axes={"squares": {0: "n"}, "embedding": {0: "n"}}, opset_version=17, dynamo=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="+", help="npz files of benchmarks/embedding_data.py")
    p.add_argument("--held-out", default=None, help="an npz of another renderer to report on")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=Training.steps)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    for path in args.data + ([args.held_out] if args.held_out else []):
        if not Path(path).is_file():
            print(f"training data {path}: no such file; make it with benchmarks/embedding_data.py", file=sys.stderr)
            return 2
    net = train(Data.load(args.data), Training(steps=args.steps, seed=args.seed))
    log.info("trained on %s: %s", ", ".join(args.data), evaluate(net, Data.load(args.data)))
    if args.held_out:
        log.info("held out %s: %s", args.held_out, evaluate(net, Data.load([args.held_out])))
    export(net, Path(args.out))
    log.info("wrote %s (%d bytes)", args.out, Path(args.out).stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
