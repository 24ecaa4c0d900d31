"""Scratch: can a tiny CNN trained on renderer 2's visitor masks find renderer 3's visitors?"""
import sys, time, numpy as np, cv2, torch
from torch import nn
sys.path.insert(0, "benchmarks")
import diagnose_recognition as D
from bench_recognition import Renderer, unknown_seed
torch.set_num_threads(2); torch.manual_seed(0)
W, H = 160, 120
def mask_of(f, g):
    b = lambda x: cv2.GaussianBlur(x, (0, 0), 2).astype(np.int16)
    m = (np.abs(b(f) - b(g)).sum(2) > 60).astype(np.uint8)
    return cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
def data(r, n, base):
    ren = Renderer(r, 1.0); clear = D._without(ren, D.DROPS[r]["visitors"])
    xs, ys = [], []
    rng = np.random.default_rng(base)
    for k in range(n):
        art = ren.art(int(rng.integers(0, 100))) if k % 4 else ren.unknown(unknown_seed(9, base + k))
        f = ren.view(art, base + k); g = clear.view(art, base + k)
        xs.append(cv2.resize(f, (W, H), interpolation=cv2.INTER_AREA))
        ys.append(cv2.resize(mask_of(f, g), (W, H), interpolation=cv2.INTER_NEAREST))
    return np.stack(xs), np.stack(ys)
t = time.time()
xtr, ytr = data(2, int(sys.argv[1]), 500_000)
xte, yte = data(3, 300, 700_000)
print(f"data {time.time() - t:.0f} s; visitor share train {ytr.mean():.3f} test {yte.mean():.3f}", flush=True)
def block(a, b): return nn.Sequential(nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU())
class Net(nn.Module):
    def __init__(s):
        super().__init__()
        s.d1, s.d2, s.d3 = block(3, 16), block(16, 32), block(32, 48)
        s.u2, s.u1, s.out = block(48 + 32, 32), block(32 + 16, 16), nn.Conv2d(16, 1, 1)
    def forward(s, x):
        a = s.d1(x); b = s.d2(nn.functional.max_pool2d(a, 2)); c = s.d3(nn.functional.max_pool2d(b, 2))
        c = nn.functional.interpolate(c, scale_factor=2); b = s.u2(torch.cat([c, b], 1))
        b = nn.functional.interpolate(b, scale_factor=2); return s.out(s.u1(torch.cat([b, a], 1)))[:, 0]
def tens(x): return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
net = Net(); opt = torch.optim.Adam(net.parameters(), 2e-3)
X, Y = tens(xtr), torch.from_numpy(ytr).float()
steps = int(sys.argv[2]); t = time.time()
for step in range(steps):
    idx = torch.randint(0, len(X), (16,))
    x = X[idx]
    # colour augmentation: casts and gains (renderer 3's light is not renderer 2's)
    x = (x * (0.6 + 0.8 * torch.rand(len(x), 3, 1, 1)) + 0.1 * (torch.rand(len(x), 3, 1, 1) - 0.5)).clamp(0, 1)
    if torch.rand(1) < 0.5: x, y = x.flip(3), Y[idx].flip(2)
    else: y = Y[idx]
    loss = nn.functional.binary_cross_entropy_with_logits(net(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
    if step % 200 == 0: print(step, f"{loss.item():.3f} {time.time() - t:.0f} s", flush=True)
net.eval()
with torch.no_grad():
    for name, x, y in (("train r2", xtr[:300], ytr[:300]), ("held out r3", xte, yte)):
        p = (torch.sigmoid(net(tens(x))) > 0.5).numpy()
        inter, union = (p & (y > 0)).sum((1, 2)), (p | (y > 0)).sum((1, 2))
        has = y.reshape(len(y), -1).mean(1) > 0.01
        iou = inter[has] / np.maximum(union[has], 1)
        false_area = p[~has].mean() if (~has).any() else float("nan")
        print(f"{name}: views with a visitor {has.sum()}, IoU mean {iou.mean():.2f} median {np.median(iou):.2f}, "
              f"share with IoU >= 0.5 {np.mean(iou >= 0.5):.2f}; visitor-free views' pixels marked {false_area:.4f}")
        t0 = time.time(); net(tens(x[:50])); print(f"  {1000 * (time.time() - t0) / 50:.1f} ms a frame at {W}x{H}")
torch.save(net.state_dict(), "/tmp/s33/seg.pt")
