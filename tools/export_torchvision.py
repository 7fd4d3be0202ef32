#!/usr/bin/env python3
"""Exports a torchvision MobileNet state_dict to a .safetensors file `rvcnn` loads.

    python tools/export_torchvision.py --arch mobilenet_v3_large --state-dict mnv3l.pth \\
        --out mnv3l.safetensors [--width 1.0] [--dtype f16]

--arch is mobilenet_v2, mobilenet_v3_small or mobilenet_v3_large. --state-dict is a file
saved with torch.save(model.state_dict()) (for example torchvision's own
mobilenet_v3_large-*.pth, obtained however your network allows); without it the model's
random initialisation is exported. The number of classes is taken from the state_dict.
The file carries metadata {"arch", "width_mult", "source"} so that `rvcnn --weights F`
needs no --model. Needs torch, torchvision and safetensors (not a CI dependency).
"""

import argparse
import os
import sys

import torch
import torchvision
from safetensors.torch import save_file


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"])
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--state-dict")
    ap.add_argument("--dtype", choices=["f32", "f16"], default="f32")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    state = None
    classes = 1000
    if args.state_dict:
        state = torch.load(args.state_dict, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state)
        last = [k for k in state if k.startswith("classifier.") and k.endswith(".weight")]
        if last:
            classes = state[sorted(last)[-1]].shape[0]
    model = getattr(torchvision.models, args.arch)(weights=None, width_mult=args.width, num_classes=classes)
    if state is not None:
        model.load_state_dict(state)  # fails loudly on any mismatch
    dtype = torch.float16 if args.dtype == "f16" else torch.float32
    tensors = {
        k: (v.to(dtype) if v.is_floating_point() else v).contiguous()
        for k, v in model.state_dict().items()
    }
    meta = {
        "arch": args.arch,
        "width_mult": str(args.width),
        "source": os.path.basename(args.state_dict) if args.state_dict else "torchvision random init",
    }
    save_file(tensors, args.out, metadata=meta)
    print(f"{args.out}: {len(tensors)} tensors, {sum(v.numel() for v in tensors.values())} values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
