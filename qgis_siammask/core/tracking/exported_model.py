"""A torch.export archive (`.pt2`) as the tracker's network: the programs the export wrote, one per entry
point (`network.inference.EXPORTED_PROGRAMS`), behind the TorchScript module's interface, so the tracker
runs either file the same way.

Archives of several programs arrived in torch 2.8 (`EXPORT_MIN_TORCH`), and a torch reads the archives
of its own and older releases only: an archive torch cannot read gets a ModelError naming the file, the
torch that wrote it and the one needed.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..definitions import EXPORT_MIN_TORCH
from ..errors import ModelError
from .network.config import ModelMetadata


class ExportedNet:
    """`template(z)`, `net(x, kernels)` and `refine_mask(...)` (signatures in `network.inference`) run by
    the archive's programs; `to` and `state_dict` as a module's."""

    def __init__(self, programs: dict):
        self._modules = {name: program.module() for name, program in programs.items()}

    def template(self, z):
        return self._modules["template"](z)

    def forward(self, x, kernels):
        return self._modules["model"](x, kernels)

    __call__ = forward

    def refine_mask(self, p0, p1, p2, mask_corr, positions):
        return self._modules["refine_mask"](p0, p1, p2, mask_corr, positions)

    def to(self, *args, **kwargs) -> "ExportedNet":
        for module in self._modules.values():
            module.to(*args, **kwargs)
        return self

    def state_dict(self) -> dict:
        """Every program's weights by the `InferenceNet` names (programs sharing a part agree on it)."""
        return {name: tensor for module in self._modules.values()
                for name, tensor in module.state_dict().items()}


def load_exported(path: Path, device: str) -> tuple[ExportedNet, ModelMetadata]:
    """(ExportedNet on `device`, ModelMetadata) from a torch.export archive written by the export."""
    import torch

    metadata = ModelMetadata.read(path)
    try:
        from torch.export.pt2_archive._package import load_pt2
    except ImportError as error:
        raise _unreadable(path, metadata, torch.__version__, str(error)) from error
    try:
        with open(path, "rb") as stream:  # a stream: no warning about the file's suffix
            programs = load_pt2(stream).exported_programs
    except Exception as error:  # torch raises many types for archives it cannot read
        raise _unreadable(path, metadata, torch.__version__, f"{type(error).__name__}: {error}") from error
    needed = {"model", "template"} | ({"refine_mask"} if metadata.config.has_mask else set())
    if not needed <= set(programs):
        missing = ", ".join(sorted(needed - set(programs)))
        raise ModelError(f"the torch.export archive lacks the program(s) {missing} (convert the checkpoint "
                         "with `python -m qgis_siammask models convert`)", path=path)
    if device != "cpu":
        from torch.export.passes import move_to_device_pass

        programs = {name: move_to_device_pass(program, device) for name, program in programs.items()}
    return ExportedNet(programs), metadata


def _release(version: str) -> tuple[int, int]:
    """(major, minor) of a torch version string such as "2.13.0+cpu"; (0, 0) when unreadable."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _unreadable(path: Path, metadata: ModelMetadata, torch_version: str, details: str) -> ModelError:
    """The error for an archive this torch cannot read: which torch is needed, and the way round it."""
    written = metadata.written_by_torch
    needed = max(_release(EXPORT_MIN_TORCH), _release(written))
    if _release(torch_version) < needed:
        writer = f" was written by torch {written} and" if written else ""
        return ModelError(f"this torch.export archive{writer} needs torch {needed[0]}.{needed[1]} or newer; "
                          f"this is torch {torch_version}: upgrade torch, or use the model's TorchScript "
                          "file (.pt), which every torch from 1.13 reads", details=details, path=path)
    return ModelError(f"torch {torch_version} cannot read this torch.export archive"
                      f"{f' (written by torch {written})' if written else ''}; use the model's TorchScript "
                      "file (.pt), or convert the checkpoint again", details=details, path=path)
