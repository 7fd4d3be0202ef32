"""Writes bindings/testdata/*.png: the four example images (examples/images) downscaled to a
longest side of 160 px and stored losslessly, so every binding's decoder (PIL, pngjs, the
CLI's `image` crate) sees the same pixels and the vectors can be compared exactly.

    python3 tools/make_binding_images.py        # needs Pillow
"""

import pathlib

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "bindings" / "testdata"
OUT.mkdir(exist_ok=True)
for src in sorted((ROOT / "examples" / "images").iterdir()):
    if src.suffix not in (".png", ".jpg"):
        continue
    img = Image.open(src).convert("RGB")
    img.thumbnail((160, 160), Image.Resampling.LANCZOS)
    img.save(OUT / (src.stem + ".png"), optimize=True)
    print(OUT / (src.stem + ".png"), img.size)
