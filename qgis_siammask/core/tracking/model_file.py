"""The exported model file and where it runs: loading it with its metadata (TorchScript, or a torch.export
archive through `exported_model`), the device and the precision the tracker asked for (checked against
what this machine has)."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

from ..definitions import (
    JIT_LOAD_DEPRECATION,
    MODEL_EXPORT_SUFFIX,
    MODEL_METADATA_FILE,
    PRECISION_BF16,
    PRECISION_FP16,
    PRECISION_FP32,
    PRECISION_TF32,
)
from ..errors import DependencyError, ModelError, TrackerError
from .network.config import ModelMetadata


def import_torch():
    try:
        import torch
    except ImportError as error:
        raise DependencyError("PyTorch is not installed; the tracker needs it (pip install torch)") from error
    return torch


def jit_load(path: Path, **kwargs):
    """`torch.jit.load` without its deprecation warning (torch 2.9+ points to torch.export, which cannot
    load TorchScript files; torch 2.14 made it a FutureWarning, shown by default): in QGIS's Python
    warnings on every model load it tells the user nothing they can act on (the way forward, a .pt2, is
    in the README and `models convert`). Only that warning, of any category, only around this call."""
    torch = import_torch()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=JIT_LOAD_DEPRECATION)
        return torch.jit.load(str(path), **kwargs)


def is_export_archive(path: str | Path) -> bool:
    """A torch.export archive (by content: a zip whose `archive_format` member says pt2), not TorchScript;
    a file that is no zip goes by its suffix (for the error message). Torch-free."""
    try:
        with zipfile.ZipFile(path) as archive:
            marks = [name for name in archive.namelist() if name.rsplit("/", 1)[-1] == "archive_format"]
            return any(archive.read(name).strip() == b"pt2" for name in marks)
    except (zipfile.BadZipFile, OSError):
        return Path(path).suffix == MODEL_EXPORT_SUFFIX


def load_model(model_path: str | Path, device: str = "cpu"):
    """(network on `device`, ModelMetadata) from a model file written by the export: a scripted module,
    or for a torch.export archive an `ExportedNet` with the same methods."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelError("model file not found", path=path)
    if is_export_archive(path):
        from .exported_model import load_exported

        import_torch()
        return load_exported(path, device)
    extra = {MODEL_METADATA_FILE: ""}
    try:
        module = jit_load(path, map_location=device, _extra_files=extra)
    except Exception as error:  # torch raises RuntimeError/ValueError/zipfile errors for bad files
        raise ModelError("not a SiamMask TorchScript model", details=f"{type(error).__name__}: {error}",
                         path=path) from error
    if not extra[MODEL_METADATA_FILE]:
        raise ModelError(f"the TorchScript file has no {MODEL_METADATA_FILE} metadata (convert the checkpoint "
                         "with `python -m qgis_siammask models convert`)", path=path)
    return module.eval(), ModelMetadata.from_json(extra[MODEL_METADATA_FILE], path)


def resolve_device(device: str) -> str:
    torch = import_torch()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrackerError(f"device {device!r} requested but CUDA is not available")
    if device != "cpu" and not device.startswith("cuda"):
        raise TrackerError(f"unknown device {device!r} (use auto, cpu or cuda)")
    return device


def resolve_precision(precision: str, device: str):
    """The torch dtype the network runs in. fp32 is the default and the only one within the parity
    tolerances (on CUDA with TF32 off); tf32 (CUDA: fp32 tensors, TF32 tensor-core convolutions), bf16
    (CPUs with AVX512-BF16/AMX, or CUDA) and fp16 (CUDA) trade accuracy for speed."""
    torch = import_torch()
    dtypes = {PRECISION_FP32: torch.float32, PRECISION_TF32: torch.float32, PRECISION_BF16: torch.bfloat16,
              PRECISION_FP16: torch.float16}
    if precision not in dtypes:
        raise TrackerError(f"unknown precision {precision!r} (use {', '.join(dtypes)})")
    on_cuda = device.startswith("cuda")
    if precision in (PRECISION_FP16, PRECISION_TF32) and not on_cuda:
        raise TrackerError(f"{precision} precision needs a CUDA device; on CPU use bf16 or fp32")
    if precision == PRECISION_BF16:
        supported = torch.cuda.is_bf16_supported() if on_cuda else torch.ops.mkldnn._is_mkldnn_bf16_supported()
        if not supported:
            raise TrackerError(f"this {'GPU' if on_cuda else 'CPU'} has no fast bf16 arithmetic; use fp32")
    return dtypes[precision]
