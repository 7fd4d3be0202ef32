"""examples/ray/embed_folder.py (Ray Data `map_batches` over the binding, 2 local workers)
gives the CLI's vectors. Skipped unless ray is installed (tools/bindings_test.sh installs it;
RVCNN_SKIP_RAY=1 there skips the install)."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from test_embedder import IMAGES, ROOT, reference

ray = pytest.importorskip("ray") if os.environ.get("RVCNN_REQUIRE_RAY") != "1" else __import__("ray")


def test_ray_data_over_two_workers_matches_the_cli(tmp_path):
    out = tmp_path / "emb.npy"
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples/ray/embed_folder.py"), str(IMAGES),
         "--out", str(out), "--workers", "2", "--batch-size", "2"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    vectors = np.load(out)
    paths = out.with_suffix(".npy.txt").read_text().split()
    ref = reference("default.jsonl")
    assert vectors.shape == (4, 1280) and len(paths) == 4
    for p, v in zip(paths, vectors):
        cos = float(v @ ref[pathlib.Path(p).name])
        assert cos >= 0.9999, (p, cos)
