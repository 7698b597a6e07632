"""Checkpoint -> TorchScript: one file holding the folded network and its metadata.

The metadata (`ModelMetadata` as JSON, stored inside the file as the extra file `MODEL_METADATA_FILE`)
holds the architecture and tracking settings the runtime tracker needs: anchors, crop sizes,
hyper-parameters, and the source checkpoint's name and sha256.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from ...definitions import MODEL_METADATA_FILE
from ...errors import ModelError
from ...files import atomic_output, sha256_of
from ..model_file import jit_load
from .checkpoint import load_checkpoint
from .config import ModelConfig, ModelMetadata
from .inference import InferenceNet
from .siammask import SiamMask

HP_OVERRIDES = ("penalty_k", "window_influence", "lr", "seg_thr")


def export_torchscript(checkpoint: str | Path, out: str | Path, config: ModelConfig | None = None,
                       overrides: dict | None = None, source_url: str = "") -> Path:
    """Load `checkpoint`, fold and script the network, write it with its metadata to `out`.

    Without `config`, the architecture the checkpoint records (model.train) is used, else the authors'.
    `overrides` replaces fields of that config in the metadata only (name, tracking hyper-parameters).
    """
    model = load_checkpoint(checkpoint, config)
    metadata = ModelMetadata(dataclasses.replace(model.config, **(overrides or {})), Path(checkpoint).name,
                             sha256_of(checkpoint), source_url)
    return _save(InferenceNet.from_siammask(model), metadata, out)


def rescript_torchscript(source: str | Path, out: str | Path) -> Path:
    """Script a TorchScript model file again with this code and this torch, same weights and metadata.

    For files exported by an older version of this code (e.g. with `F.interpolate`, whose scripted form
    older torch releases cannot load): the folded weights go into a freshly built `InferenceNet`.
    """
    metadata = ModelMetadata.read(source)
    try:
        state = jit_load(source, map_location="cpu").state_dict()
    except Exception as error:  # torch raises RuntimeError/ValueError for bad files
        raise ModelError("not a SiamMask TorchScript model", details=f"{type(error).__name__}: {error}",
                         path=source) from error
    net = InferenceNet.from_siammask(SiamMask(metadata.config))
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelError("the TorchScript file's weights do not match its metadata's architecture",
                         details=str(error), path=source) from error
    return _save(net, metadata, out)


def _save(net: InferenceNet, metadata: ModelMetadata, out: str | Path) -> Path:
    """Script `net` and write it with `metadata` to `out` through a partial file beside it (`atomic`)."""
    out = Path(out)
    with torch.no_grad():
        scripted = torch.jit.script(net.eval())
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(out) as partial:
            torch.jit.save(scripted, str(partial), _extra_files={MODEL_METADATA_FILE: metadata.to_json()})
    except OSError as error:
        raise ModelError("cannot write the TorchScript file", details=str(error), path=out) from error
    return out
