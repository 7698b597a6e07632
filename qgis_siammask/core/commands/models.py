"""`python -m qgis_siammask models list|fetch|convert`: the model catalogue from the command line.

    models list [--dir DIR]                                   installed models, then the catalogue
    models fetch NAME [--url URL] [--dir DIR]                 download a checkpoint, convert it under DIR
    models convert CHECKPOINT.pth --out MODEL.pt [--name N]   official or trained checkpoint -> TorchScript
    models convert SOURCE --out MODEL.pt2                     ... -> torch.export archive (torch >= 2.8)

DIR defaults to the user's model folder ($SIAMMASK_MODEL_DIR, else ~/.local/share/qgis-siammask/models).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..models.catalogue import CATALOGUE, catalogue_entry, default_model_dir
from ..models.install import convert_model_file, fetch_model, list_models

HP_OVERRIDES = ("penalty_k", "window_influence", "lr", "seg_thr")  # tracking settings a conversion may set


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="installed models (name, backbone, size, source, sha256), catalogue")
    listing.add_argument("--dir", type=Path, default=None, help="model folder (default: the user's)")
    fetch = sub.add_parser("fetch", help="download a catalogue model's checkpoint and convert it")
    fetch.add_argument("name", choices=[entry.name for entry in CATALOGUE])
    fetch.add_argument("--url", default=None, help="download from here instead (a mirror, a local server)")
    fetch.add_argument("--dir", type=Path, default=None, help="model folder (default: the user's)")
    convert = sub.add_parser("convert", help="convert a checkpoint (.pth) or model file (.pt, .pt2) to a model")
    convert.add_argument("source", type=Path, help="official-format .pth, model.train checkpoint, .pt or .pt2")
    convert.add_argument("--out", type=Path, required=True,
                         help="model file to write: .pt TorchScript (any torch), .pt2 torch.export archive")
    convert.add_argument("--name", default=None, help="model name stored in the metadata")
    for name in HP_OVERRIDES:
        convert.add_argument(f"--{name.replace('_', '-')}", type=float, default=None,
                             help="tracking hyper-parameter (default: the checkpoint's, or the authors' DAVIS one)")


def run(args: argparse.Namespace) -> int:
    if args.models_command == "list":
        return _list(args.dir or default_model_dir())
    if args.models_command == "fetch":
        model_dir = args.dir or default_model_dir()
        entry = catalogue_entry(args.name)
        print(f"downloading {args.url or entry.url} into {model_dir}", file=sys.stderr)
        out = fetch_model(entry, model_dir, args.url, progress=_ProgressLine())
        print(f"\nwrote {out}")
        return 0
    overrides = {n: getattr(args, n) for n in HP_OVERRIDES if getattr(args, n) is not None}
    if args.name:
        overrides["name"] = args.name
    out = convert_model_file(args.source, args.out, overrides=overrides or None)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def _list(model_dir: Path) -> int:
    models = list_models(model_dir)
    print(f"model folder: {model_dir}")
    for model in models:
        metadata = model.metadata
        print(f"{model.name:24} {model.file_format:12} {metadata.config.backbone:15} "
              f"{model.size_bytes / 1e6:6.1f} MB  "
              f"{model.source}  sha256 {metadata.source_sha256[:16] or '-'}  {model.path}")
    installed = {model.name for model in models}
    for entry in CATALOGUE:
        if entry.name not in installed:
            print(f"{entry.name:24} not installed: `models fetch {entry.name}` ({entry.title})")
    return 0


class _ProgressLine:
    """Prints the download's progress on stderr, once per whole percent."""

    def __init__(self):
        self._shown = -1

    def __call__(self, done: int, total: int | None) -> None:
        percent = int(100 * done / total) if total else -1
        if percent != self._shown or total is None:
            self._shown = percent
            where = f"{percent:3d} % of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            print(f"\r{where}", end="", file=sys.stderr, flush=True)
