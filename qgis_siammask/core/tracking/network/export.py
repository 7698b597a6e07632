"""`python -m model.export --checkpoint CKPT.pth --out MODEL.pt`: one TorchScript file with metadata.

The metadata (JSON, stored inside the file as an extra file named by `MODEL_METADATA_FILE`) holds the
architecture and tracking settings the runtime tracker needs: anchors, crop sizes, hyper-parameters.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
from pathlib import Path

import torch

from ...cli import report_error
from ...definitions import MODEL_METADATA_FILE
from ...errors import ModelError, SiamMaskError
from .checkpoint import load_checkpoint
from .config import ModelConfig, ModelMetadata
from .inference import InferenceNet

HP_OVERRIDES = ("penalty_k", "window_influence", "lr", "seg_thr")


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_torchscript(checkpoint: str | Path, out: str | Path, config: ModelConfig | None = None,
                       overrides: dict | None = None) -> Path:
    """Load `checkpoint`, fold and script the network, write it with its metadata to `out`.

    Without `config`, the architecture the checkpoint records (model.train) is used, else the authors'.
    `overrides` replaces fields of that config in the metadata only (name, tracking hyper-parameters).
    """
    model = load_checkpoint(checkpoint, config)
    net = InferenceNet.from_siammask(model)
    with torch.no_grad():
        scripted = torch.jit.script(net)
    metadata = ModelMetadata(dataclasses.replace(model.config, **(overrides or {})), Path(checkpoint).name,
                             sha256_of(checkpoint))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.jit.save(scripted, str(out), _extra_files={MODEL_METADATA_FILE: metadata.to_json()})
    except OSError as error:
        raise ModelError("cannot write the TorchScript file", details=str(error), path=out) from error
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model.export", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="official-format .pth (dict with state_dict)")
    parser.add_argument("--out", required=True, help="TorchScript file to write (.pt)")
    parser.add_argument("--name", default=None,
                        help=f"model name stored in the metadata (default: the checkpoint's, or {ModelConfig.name})")
    for name in HP_OVERRIDES:
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, default=None,
                            help=f"tracking hyper-parameter (default: the checkpoint's, or DAVIS "
                                 f"{getattr(ModelConfig, name)})")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {n: getattr(args, n) for n in HP_OVERRIDES if getattr(args, n) is not None}
    if args.name:
        overrides["name"] = args.name
    try:
        out = export_torchscript(args.checkpoint, args.out, overrides=overrides)
    except SiamMaskError as error:
        return report_error(error)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
