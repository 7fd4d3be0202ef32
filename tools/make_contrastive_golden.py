#!/usr/bin/env python3
"""Makes model/tests/fixtures/contrastive.golden.safetensors: losses and their gradients
computed by PyTorch autograd in float64, for the contrastive losses of
model/src/contrastive/loss.rs (same definitions, written independently here).

    /tmp/tv/bin/python tools/make_contrastive_golden.py      (venv as in make_golden.py)

Tensors: `<case>.z` (or `.a`/`.b`) inputs (float32-exact), `<case>.labels` (triplet, as
float32), `<case>.loss` (1 value), `<case>.grad` (or `.grad_a`/`.grad_b`); metadata
`<case>` = JSON of the case's parameters.
"""

import json
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "model", "tests", "fixtures")


def nt_xent(z, tau):
    u = F.normalize(z, dim=1, eps=1e-12)
    s = u @ u.T / tau
    n = z.shape[0]
    half = n // 2
    s = s.masked_fill(torch.eye(n, dtype=torch.bool), float("-inf"))
    target = (torch.arange(n) + half) % n
    return F.cross_entropy(s, target)


def info_nce(a, b, tau, symmetric):
    s = F.normalize(a, dim=1, eps=1e-12) @ F.normalize(b, dim=1, eps=1e-12).T / tau
    target = torch.arange(a.shape[0])
    loss = F.cross_entropy(s, target)
    if symmetric:
        loss = (loss + F.cross_entropy(s.T, target)) / 2
    return loss


def distances(z, distance):
    if distance == "cosine":
        u = F.normalize(z, dim=1, eps=1e-12)
        return 1 - u @ u.T
    diff = z[:, None, :] - z[None, :, :]
    return torch.sqrt((diff**2).sum(-1) + 1e-12)


def triplet(z, labels, margin, distance, mining):
    d = distances(z, distance)
    n = z.shape[0]
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(n, dtype=torch.bool)
    pos = same & ~eye
    neg = ~same
    if mining == "all":
        l = d[:, :, None] - d[:, None, :] + margin  # [a, p, n]
        valid = pos[:, :, None] & neg[:, None, :]
        l = torch.where(valid, l, torch.zeros_like(l)).clamp(min=0)
        active = (l > 0).sum()
        return l.sum() / active.clamp(min=1)
    hp = torch.where(pos, d, torch.full_like(d, -1e9)).max(1).values
    hn = torch.where(neg, d, torch.full_like(d, 1e9)).min(1).values
    ok = pos.any(1) & neg.any(1)
    l = (hp - hn + margin).clamp(min=0)
    return l[ok].mean()


def main() -> int:
    gen = torch.Generator().manual_seed(20261202)
    rnd = lambda *shape: torch.randn(shape, generator=gen, dtype=torch.float32).double()
    tensors, meta = {}, {}

    def grad_of(fn, *xs):
        xs = [x.clone().requires_grad_(True) for x in xs]
        loss = fn(*xs)
        loss.backward()
        return loss.detach(), [x.grad for x in xs]

    for name, rows, dim, tau, zero_row in [
        ("ntxent_a", 8, 16, 0.1, False),
        ("ntxent_b", 6, 5, 0.5, True),
        ("ntxent_pair", 2, 7, 0.07, False),
    ]:
        z = rnd(rows, dim) * 2
        if zero_row:
            z[3] = 0
        loss, (g,) = grad_of(lambda z: nt_xent(z, tau), z)
        tensors.update({f"{name}.z": z, f"{name}.loss": loss.reshape(1), f"{name}.grad": g})
        meta[name] = json.dumps({"loss": "nt_xent", "tau": tau})
    for name, rows, dim, tau, sym in [("infonce_sym", 7, 9, 0.2, True), ("infonce_ab", 5, 12, 0.05, False)]:
        a, b = rnd(rows, dim), rnd(rows, dim)
        b = b + 0.8 * a  # correlated pairs: a non-trivial loss
        loss, (ga, gb) = grad_of(lambda a, b: info_nce(a, b, tau, sym), a, b)
        tensors.update({f"{name}.a": a, f"{name}.b": b, f"{name}.loss": loss.reshape(1),
                        f"{name}.grad_a": ga, f"{name}.grad_b": gb})
        meta[name] = json.dumps({"loss": "info_nce", "tau": tau, "symmetric": sym})
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, 0, 3, 3])
    for distance in ["cosine", "euclidean"]:
        for mining in ["all", "hard"]:
            name = f"triplet_{distance}_{mining}"
            z = rnd(len(labels), 12)
            margin = 0.3 if distance == "cosine" else 1.0
            loss, (g,) = grad_of(lambda z: triplet(z, labels, margin, distance, mining), z)
            tensors.update({f"{name}.z": z, f"{name}.labels": labels.double(),
                            f"{name}.loss": loss.reshape(1), f"{name}.grad": g})
            meta[name] = json.dumps({"loss": "triplet", "margin": margin, "distance": distance,
                                     "mining": mining})
    for k, v in meta.items():
        print(k, v, float(tensors[f"{k}.loss"]))
    out = {k: v.to(torch.float32).contiguous() for k, v in tensors.items()}
    save_file(out, os.path.join(OUT, "contrastive.golden.safetensors"), metadata=meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
