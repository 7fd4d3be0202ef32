"""Embed an image folder with Ray Data over the ruvector-cnn Python binding.

    python examples/ray/embed_folder.py IMAGE_DIR --out embeddings.npy [--workers 2]

Locally this starts a Ray instance with --workers CPUs; on a cluster, start Ray there
(`ray start --head` / `ray start --address=HEAD:6379` on each node, every node with
`pip install ./bindings/python` and `rvcnn fetch` done) and pass `--address auto`: the same
script then reads the folder (a path every node sees, e.g. NFS or s3://...) and spreads the
batches over all nodes' CPUs. Each worker is one actor holding one Embedder (the model loads
once per worker, not per batch); each embeds its batches with one thread, so the parallelism
is Ray's. Writes the vectors (float32 [N, dim], in path order) and the paths beside them
(OUT.txt), like `rvcnn embed --out`.
"""

import argparse
import pathlib

import numpy as np
import ray

import ruvector_cnn


class EmbedBatch:
    """A Ray actor: one embedder, many batches."""

    def __init__(self, model, weights):
        self.embedder = ruvector_cnn.Embedder(model=model, weights=weights, threads=1)

    def __call__(self, batch):
        return {
            "path": batch["path"],
            "embedding": self.embedder.embed_batch(list(batch["image"])),
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images", help="folder of images (PNG/JPEG)")
    ap.add_argument("--out", required=True, help="output .npy (paths go to OUT.txt)")
    ap.add_argument("--workers", type=int, default=2, help="embedding actors (default 2)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--address", help="Ray cluster address (`auto` on a cluster node)")
    ap.add_argument("--model", help="architecture (default: the pretrained MobileNetV2)")
    ap.add_argument("--weights", help="a .safetensors file (default: the pretrained weights)")
    args = ap.parse_args()

    if args.address:
        ray.init(address=args.address)
    else:
        # One CPU per embedding actor plus one for the image-reading tasks (with only
        # --workers CPUs the actors hold them all and the reads never run).
        ray.init(num_cpus=args.workers + 1, include_dashboard=False)
    ds = ray.data.read_images(args.images, mode="RGB", include_paths=True)
    ds = ds.map_batches(
        EmbedBatch,
        fn_constructor_args=(args.model, args.weights),
        compute=ray.data.ActorPoolStrategy(size=args.workers),
        batch_size=args.batch_size,
        batch_format="numpy",
    )
    paths, vectors = [], []
    for batch in ds.iter_batches(batch_format="numpy"):
        paths.extend(str(p) for p in batch["path"])
        vectors.extend(batch["embedding"])
    order = sorted(range(len(paths)), key=paths.__getitem__)
    out = pathlib.Path(args.out)
    np.save(out, np.stack([vectors[i] for i in order]).astype(np.float32))
    out.with_suffix(out.suffix + ".txt").write_text("".join(paths[i] + "\n" for i in order))
    print(f"embedded {len(paths)} images with {args.workers} Ray workers -> {out}")


if __name__ == "__main__":
    main()
