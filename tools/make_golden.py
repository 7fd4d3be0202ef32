#!/usr/bin/env python3
"""Makes the golden-model fixtures in model/tests/fixtures/ with PyTorch and torchvision.

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch torchvision safetensors numpy
    /tmp/tv/bin/python tools/make_golden.py

CI never runs this (PyTorch is not a test dependency); the files it writes are committed.

For each model, torchvision's own constructor builds the network (random init from a fixed
seed), then every BatchNorm gets non-trivial statistics (gamma, beta, running mean and
variance) and every bias a random value, so a loader that drops or misplaces one of them
fails the test. Weights are rounded to the stored dtype first and the golden outputs are
computed in float64 from the rounded weights, so the fixture is exact for what it stores.

Outputs per input x (NCHW, stored as f16-exact values):
  pooled       = flatten(avgpool(features(x)))               (the embedding before the head)
  penultimate  = classifier[:-1](pooled)                      (input of the last Linear)
  logits       = classifier(pooled)
"""

import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torchvision
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "model", "tests", "fixtures")
CLASSES = 10

# name -> (constructor, width_mult, stored weight dtype)
MODELS = {
    "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small, 1.0, torch.float16),
    "mobilenet_v3_large": (torchvision.models.mobilenet_v3_large, 0.5, torch.float16),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, 0.35, torch.float32),
}

# name -> (batch, height, width)
INPUTS = {
    "x224": (2, 224, 224),
    "x160": (1, 160, 160),
    "x97x131": (3, 97, 131),
}


def randomise(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Non-trivial BN statistics and biases; Linear weights at a useful scale.

    Running statistics are first measured on random batches (so activations stay normalised
    through the depth and the outputs depend on the input), then perturbed."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                m.momentum = None  # cumulative average over the calibration batches
                m.reset_running_stats()
        model.train()
        for _ in range(4):
            model(torch.randn((8, 3, 128, 128), generator=gen))
        model.eval()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.add_(torch.randn(c, generator=gen) * 0.05)
                m.running_var.mul_(torch.rand(c, generator=gen) * 0.4 + 0.8)
            elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                if isinstance(m, torch.nn.Linear):
                    fan_in = m.weight.shape[1]
                    m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / fan_in**0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


def outputs(model: torch.nn.Module, x: torch.Tensor) -> dict:
    with torch.no_grad():
        pooled = model.features(x).mean((2, 3))
        penultimate = model.classifier[:-1](pooled)
        logits = model.classifier(pooled)
    return {"pooled": pooled, "penultimate": penultimate, "logits": logits}


def legacy_fixture(gen: torch.Generator) -> None:
    """A small state_dict in PyTorch's legacy (non-zip) format, exercising what the Rust reader
    must handle: f32/f16/f64 storages, a transposed (non-contiguous) view, a view at an
    offset sharing another tensor's storage, and an int64 num_batches_tracked; plus the same
    tensors (contiguous, f32) as safetensors to compare with."""
    base = torch.randn((4, 3), generator=gen)
    state = OrderedDict()
    state["conv.weight"] = base
    state["conv.weight_t"] = base.t()
    state["conv.row2"] = base[2]
    state["bn.bias"] = torch.randn(5, generator=gen).to(torch.float16)
    state["bn.running_var"] = torch.rand(5, generator=gen).double()
    state["bn.num_batches_tracked"] = torch.tensor(7)
    torch.save(state, os.path.join(OUT, "legacy_tiny.pt"), _use_new_zipfile_serialization=False)
    expected = {k: v.float().clone().contiguous() for k, v in state.items() if v.is_floating_point()}
    save_file(expected, os.path.join(OUT, "legacy_tiny.expected.safetensors"))


def main() -> int:
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20261126)
    legacy_fixture(gen)
    inputs = {}
    for name, (n, h, w) in INPUTS.items():
        inputs[name] = (torch.randn((n, 3, h, w), generator=gen) * 1.5).to(torch.float16)
    save_file({k: v.contiguous() for k, v in inputs.items()}, os.path.join(OUT, "inputs.safetensors"))

    for name, (ctor, width, dtype) in MODELS.items():
        torch.manual_seed(7)
        model = ctor(weights=None, width_mult=width, num_classes=CLASSES).eval()
        randomise(model, gen)
        state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model.state_dict().items()}
        meta = {"arch": name, "width_mult": str(width), "source": "tools/make_golden.py (random init)"}
        save_file(
            {k: v.contiguous() for k, v in state.items()},
            os.path.join(OUT, f"{name}.safetensors"),
            metadata=meta,
        )
        # Golden outputs from exactly the stored values, in float64.
        model.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()})
        model = model.double()
        golden = {}
        for iname, x in inputs.items():
            for oname, y in outputs(model, x.double()).items():
                golden[f"{iname}.{oname}"] = y.to(torch.float32).contiguous()
                scale = y.abs().max().item()
                spread = (y - y.mean(0)).abs().max().item() if y.shape[0] > 1 else 0.0
                print(f"{name} {iname} {oname} {tuple(y.shape)} max|y|={scale:.4g} spread={spread:.4g}")
        save_file(golden, os.path.join(OUT, f"{name}.golden.safetensors"))
    for f in sorted(os.listdir(OUT)):
        print(f"{os.path.getsize(os.path.join(OUT, f)):>10} {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
