"""Do the model files load and run in another torch? `make check-old-torch [OLD_TORCH=2.4.1]`.

    python scripts/check_old_torch.py --torch 2.4.1 [--model model/default/siammask_sim_light.pt ...]

TorchScript files are not backward compatible across torch releases: a file naming an operator the
older torch lacks does not load there. torch.export archives (.pt2) need torch >= 2.8 and, in general,
a torch as new as the one that wrote them. This creates a throwaway virtual environment with `torch==X`
from the package index, loads each model there with the plugin's own loader (`load_model`: for a file
that torch cannot read, the error the user would see), runs it on fixed random crops and compares the
outputs with those of this environment's torch. Without --model it checks the shipped demo model and a
.pt2 converted from it here. A developer check (downloads a torch wheel), not part of the tests.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from qgis_siammask.core.tracking.model_file import load_model  # noqa: E402

DEFAULT_MODEL = REPO_ROOT / "model" / "default" / "siammask_sim_light.pt"
TOLERANCE = 1e-3  # outputs are probabilities and logits of order 1-10; kernels may differ in rounding

# Runs inside the other torch: load the model, run the three entry points on the saved inputs, compare.
RUNNER = """
import sys, torch
sys.path.insert(0, sys.argv[4])
from qgis_siammask.core.errors import ModelError
from qgis_siammask.core.tracking.model_file import load_model
try:
    model, _ = load_model(sys.argv[1])
except ModelError as error:
    print(f"torch {torch.__version__}: does not load: {error.user_message}")
    sys.exit(2)
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
    model, _ = load_model(model_path)
    with torch.no_grad():
        data["kernels"] = model.template(data["exemplar"])
        score, delta, p0, p1, p2, corr = model(data["search"], data["kernels"])
        data.update(score=score, delta=delta, mask=model.refine_mask(p0, p1, p2, corr, data["cells"]))
    torch.save(data, out)


def default_models(folder: Path) -> list[Path]:
    """The shipped demo model, and a .pt2 of it written by this torch where it can write one."""
    from qgis_siammask.core.errors import ModelError
    from qgis_siammask.core.tracking.network.export import rewrite_model_file

    try:
        return [DEFAULT_MODEL, rewrite_model_file(DEFAULT_MODEL, folder / f"{DEFAULT_MODEL.stem}.pt2")]
    except ModelError as error:
        print(f"no .pt2 checked: {error}", file=sys.stderr)
        return [DEFAULT_MODEL]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch", required=True, help="the torch version to try, e.g. 2.4.1")
    parser.add_argument("--model", type=Path, action="append",
                        help="a model file, .pt or .pt2 (repeat for several); default: the demo model, both")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="old-torch-") as folder:
        root = Path(folder)
        models = [m.resolve() for m in args.model] if args.model else default_models(root)
        (root / "runner.py").write_text(RUNNER)
        subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
        python = root / "venv" / "bin" / "python"
        install = subprocess.run([str(python), "-m", "pip", "install", "-q", f"torch=={args.torch}", "numpy<2"])
        if install.returncode:
            print(f"torch {args.torch}: cannot be installed here", file=sys.stderr)
            return install.returncode
        failures = 0
        for index, model in enumerate(models):
            reference = root / f"reference{index}.pt"
            reference_outputs(model, reference)
            print(f"{model.name}: ", end="", flush=True)
            run = subprocess.run([str(python), str(root / "runner.py"), str(model), str(reference),
                                  str(TOLERANCE), str(REPO_ROOT)])
            if run.returncode:
                failures += 1
                print(f"torch {args.torch}: {model.name} does NOT load or run correctly", file=sys.stderr)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
