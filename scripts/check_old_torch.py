"""Does a model file load and run in an older torch? `make check-old-torch [OLD_TORCH=2.4.1]`.

    python scripts/check_old_torch.py --torch 2.4.1 [--model model/default/siammask_sim_light.pt]

TorchScript files are not backward compatible across torch releases: a file naming an operator the
older torch lacks does not load there. This creates a throwaway virtual environment with `torch==X`
from the package index, runs the model there on fixed random crops and compares the outputs with
those of this environment's torch. A developer check (downloads a torch wheel), not part of the tests.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT / "model" / "default" / "siammask_sim_light.pt"
TOLERANCE = 1e-3  # outputs are probabilities and logits of order 1-10; kernels may differ in rounding

# Runs inside the old torch: load the model, run the three entry points on the saved inputs, compare.
RUNNER = """
import sys, torch
model = torch.jit.load(sys.argv[1], map_location="cpu")
data = torch.load(sys.argv[2], weights_only=True)
with torch.no_grad():
    kernels = model.template(data["exemplar"])
    score, delta, p0, p1, p2, corr = model(data["search"], kernels)
    mask = model.refine_mask(p0, p1, p2, corr, data["cells"])
diff = max(float((a - data[name]).abs().max()) for name, a in
           (("kernels", kernels), ("score", score), ("delta", delta), ("mask", mask)))
print(f"torch {torch.__version__}: loads and runs; largest difference from the reference {diff:.2e}")
sys.exit(0 if diff <= float(sys.argv[3]) else 1)
"""


def reference_outputs(model_path: Path, out: Path) -> None:
    """Fixed random inputs and this torch's outputs for them, saved as plain tensors."""
    generator = torch.Generator().manual_seed(0)
    data = {"exemplar": torch.rand(2, 3, 127, 127, generator=generator) * 255,
            "search": torch.rand(2, 3, 255, 255, generator=generator) * 255,
            "cells": torch.tensor([[12, 12], [5, 19]])}
    model = torch.jit.load(str(model_path), map_location="cpu")
    with torch.no_grad():
        data["kernels"] = model.template(data["exemplar"])
        score, delta, p0, p1, p2, corr = model(data["search"], data["kernels"])
        data.update(score=score, delta=delta, mask=model.refine_mask(p0, p1, p2, corr, data["cells"]))
    torch.save(data, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch", required=True, help="the older torch version to try, e.g. 2.4.1")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="old-torch-") as folder:
        root = Path(folder)
        reference_outputs(args.model, root / "reference.pt")
        (root / "runner.py").write_text(RUNNER)
        subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
        python = root / "venv" / "bin" / "python"
        install = subprocess.run([str(python), "-m", "pip", "install", "-q", f"torch=={args.torch}", "numpy<2"])
        if install.returncode:
            print(f"torch {args.torch}: cannot be installed here", file=sys.stderr)
            return install.returncode
        run = subprocess.run([str(python), str(root / "runner.py"), str(args.model.resolve()),
                              str(root / "reference.pt"), str(TOLERANCE)])
        if run.returncode:
            print(f"torch {args.torch}: {args.model.name} does NOT load or run correctly", file=sys.stderr)
        return run.returncode


if __name__ == "__main__":
    sys.exit(main())
