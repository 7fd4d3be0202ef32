#!/usr/bin/env python3
"""Makes the ResNet-18 golden fixtures in model/tests/fixtures/ with PyTorch and torchvision.

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch torchvision safetensors numpy
    /tmp/tv/bin/python tools/make_resnet_golden.py

CI never runs this; the files it writes are committed. The network is torchvision's own
ResNet with BasicBlocks [2, 2, 2, 2] (resnet18) at a base width of 16 instead of 64, so the
fixture stays small (0.7 M parameters, stored as f16): torchvision's `_make_layer` builds every
stage, so modules and state_dict keys are exactly resnet18's (checked against
`torchvision.models.resnet18()`), only the channel counts are a quarter. Random init from a
fixed seed, then `make_golden.randomise` (non-trivial BatchNorm statistics). Golden outputs
are computed in float64 from the stored (rounded) weights, for the inputs of
`inputs.safetensors` (written by make_golden.py):
  pooled  = flatten(avgpool(layer4(...)))     (the embedding; also the penultimate features)
  logits  = fc(pooled)
"""

import os
import sys

import torch
import torchvision
from safetensors.torch import load_file, save_file
from torchvision.models.resnet import BasicBlock, ResNet

sys.path.insert(0, os.path.dirname(__file__))
from make_golden import CLASSES, OUT, randomise  # noqa: E402

WIDTH = 16


def narrow_resnet18(width: int, classes: int) -> ResNet:
    """torchvision's resnet18 with stage widths width·(1, 2, 4, 8)."""
    m = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=classes)
    m.inplanes = width
    m.conv1 = torch.nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = torch.nn.BatchNorm2d(width)
    m.layer1 = m._make_layer(BasicBlock, width, 2)
    m.layer2 = m._make_layer(BasicBlock, 2 * width, 2, stride=2)
    m.layer3 = m._make_layer(BasicBlock, 4 * width, 2, stride=2)
    m.layer4 = m._make_layer(BasicBlock, 8 * width, 2, stride=2)
    m.fc = torch.nn.Linear(8 * width, classes)
    return m


def main() -> int:
    gen = torch.Generator().manual_seed(20261201)
    torch.manual_seed(11)
    model = narrow_resnet18(WIDTH, CLASSES).eval()
    reference = torchvision.models.resnet18(weights=None, num_classes=CLASSES).state_dict()
    assert list(model.state_dict()) == list(reference), "keys differ from torchvision resnet18"
    randomise(model, gen)
    state = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    meta = {"arch": "resnet18", "width": str(WIDTH), "source": "tools/make_resnet_golden.py (random init)"}
    save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(OUT, "resnet18.safetensors"), metadata=meta)
    model.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()})
    model = model.double()
    inputs = load_file(os.path.join(OUT, "inputs.safetensors"))
    golden = {}
    with torch.no_grad():
        for name, x in inputs.items():
            x = x.double()
            f = model.maxpool(model.relu(model.bn1(model.conv1(x))))
            f = model.layer4(model.layer3(model.layer2(model.layer1(f))))
            pooled = torch.flatten(model.avgpool(f), 1)
            logits = model.fc(pooled)
            assert torch.allclose(logits, model(x)), "staged forward differs from model(x)"
            for oname, y in (("pooled", pooled), ("logits", logits)):
                golden[f"{name}.{oname}"] = y.to(torch.float32).contiguous()
                spread = (y - y.mean(0)).abs().max().item() if y.shape[0] > 1 else 0.0
                print(f"resnet18 {name} {oname} {tuple(y.shape)} max|y|={y.abs().max().item():.4g} spread={spread:.4g}")
    save_file(golden, os.path.join(OUT, "resnet18.golden.safetensors"))
    for f in ("resnet18.safetensors", "resnet18.golden.safetensors"):
        print(f"{os.path.getsize(os.path.join(OUT, f)):>10} {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
