"""Checkpoint -> model file: the folded network and its metadata, as TorchScript (`.pt`) or, for an
`out` ending in `.pt2`, as a torch.export archive.

The metadata (`ModelMetadata` as JSON, stored inside the file as the extra file `MODEL_METADATA_FILE`)
holds the architecture and tracking settings the runtime tracker needs: anchors, crop sizes,
hyper-parameters, the source checkpoint's name and sha256, and the torch release that wrote the file.
The archive holds one program per entry point (`EXPORTED_PROGRAMS`), each taking any number of targets.
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import torch

from ...definitions import EXPORT_MIN_TORCH, JIT_EXPORT_DEPRECATION, MODEL_EXPORT_SUFFIX, MODEL_METADATA_FILE
from ...errors import ModelError
from ...files import atomic_output, sha256_of
from ..model_file import load_model
from .checkpoint import load_checkpoint
from .config import ModelConfig, ModelMetadata
from .inference import EntryPoint, InferenceNet
from .siammask import SiamMask

HP_OVERRIDES = ("penalty_k", "window_influence", "lr", "seg_thr")
_EXAMPLE_TARGETS = 2  # torch.export traces with 2 targets; the count stays dynamic (1 would be specialised)


def export_torchscript(checkpoint: str | Path, out: str | Path, config: ModelConfig | None = None,
                       overrides: dict | None = None, source_url: str = "") -> Path:
    """Load `checkpoint`, fold the network, write it with its metadata to `out` (TorchScript; a
    torch.export archive when `out` ends in `.pt2`).

    Without `config`, the architecture the checkpoint records (model.train) is used, else the authors'.
    `overrides` replaces fields of that config in the metadata only (name, tracking hyper-parameters).
    """
    model = load_checkpoint(checkpoint, config)
    metadata = ModelMetadata(dataclasses.replace(model.config, **(overrides or {})), Path(checkpoint).name,
                             sha256_of(checkpoint), source_url)
    return _save(InferenceNet.from_siammask(model), metadata, out)


def rewrite_model_file(source: str | Path, out: str | Path) -> Path:
    """Write a model file (either format) again with this code and this torch, same weights and metadata,
    in the format `out`'s suffix names: `.pt` -> `.pt2` and back, or a fresh `.pt` for this torch.

    For files exported by an older version of this code (e.g. with `F.interpolate`, whose scripted form
    older torch releases cannot load): the folded weights go into a freshly built `InferenceNet`.
    """
    metadata = ModelMetadata.read(source)
    state = load_model(source, "cpu")[0].state_dict()
    net = InferenceNet.from_siammask(SiamMask(metadata.config))
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelError("the model file's weights do not match its metadata's architecture",
                         details=str(error), path=source) from error
    return _save(net, metadata, out)


def _save(net: InferenceNet, metadata: ModelMetadata, out: str | Path) -> Path:
    """Script or export `net` and write it with `metadata` to `out` through a partial file beside it."""
    out = Path(out)
    metadata = dataclasses.replace(metadata, written_by_torch=torch.__version__)
    extra_files = {MODEL_METADATA_FILE: metadata.to_json()}
    exported = out.suffix == MODEL_EXPORT_SUFFIX
    # torch 2.9+ warns on every scripted function and save (tens per export, in QGIS's log): the .pt is
    # still the file every torch reads, so the warning tells the user nothing; only it is silenced
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=JIT_EXPORT_DEPRECATION)
        if exported:
            package_pt2 = _archive_writer(out)
            programs = _export_programs(net.eval(), metadata.config)
        else:
            scripted = torch.jit.script(net.eval())
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(out) as partial, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=JIT_EXPORT_DEPRECATION)
            if exported:
                package_pt2(str(partial), exported_programs=programs, extra_files=extra_files)
            else:
                torch.jit.save(scripted, str(partial), _extra_files=extra_files)
    except OSError as error:
        raise ModelError("cannot write the model file", details=str(error), path=out) from error
    return out


def _archive_writer(out: Path):
    """torch's writer of archives of several programs (`torch.export.save` writes one), or ModelError."""
    try:
        from torch.export.pt2_archive._package import package_pt2
    except ImportError as error:
        raise ModelError(f"writing a torch.export archive needs torch >= {EXPORT_MIN_TORCH} (this is torch "
                         f"{torch.__version__}); write a TorchScript .pt instead", path=out) from error
    return package_pt2


def _export_programs(net: InferenceNet, config: ModelConfig) -> dict:
    """{program name: torch.export ExportedProgram} of `net`'s entry points, the target count dynamic."""
    generator = torch.Generator().manual_seed(0)
    exemplar, search = (torch.rand(_EXAMPLE_TARGETS, 3, side, side, generator=generator)
                        for side in (config.exemplar_size, config.instance_size))
    kernels = net.template(exemplar * 255)
    outputs = net(search * 255, kernels)
    examples = {"model": (search * 255, kernels), "template": (exemplar * 255,)}
    if config.has_mask:
        examples["refine_mask"] = (*outputs[2:], torch.zeros(_EXAMPLE_TARGETS, 2, dtype=torch.long))
    targets = torch.export.Dim("targets", min=1)
    programs = {}
    for name, inputs in examples.items():
        program = torch.export.export(EntryPoint(net, name), inputs,
                                      dynamic_shapes=(tuple({0: targets} for _ in inputs),))
        program.example_inputs = None  # not stored: megabytes of random crops
        programs[name] = program
    return programs
