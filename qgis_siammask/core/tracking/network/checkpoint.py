"""Loading the authors' checkpoints (`SiamMask_DAVIS.pth`, `SiamMask_VOT.pth`) into `SiamMask`.

The files are dicts with `state_dict` (names possibly prefixed `module.` by DataParallel); they are read
with `weights_only=True` so a hostile file cannot run code. Our module tree mirrors the authors', so
names map one to one; anything missing or unexpected is reported by name.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ...errors import ModelError
from .config import ModelConfig
from .siammask import SiamMask

_IGNORED_SUFFIXES = ("num_batches_tracked",)  # absent from checkpoints made before torch 0.4.1


def _read_payload(path: str | Path) -> object:
    path = Path(path)
    if not path.is_file():
        raise ModelError("checkpoint file not found", path=path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or unsafe files
        raise ModelError("cannot read the checkpoint (not a plain PyTorch weights file)",
                         details=f"{type(error).__name__}: {error}", path=path) from error


def _config_in(payload: object, path: str | Path) -> ModelConfig | None:
    if isinstance(payload, dict) and isinstance(payload.get("model_config"), dict):
        return ModelConfig.from_metadata(payload["model_config"], path)
    return None


def _state_in(payload: object, path: str | Path) -> dict[str, torch.Tensor]:
    state = payload.get("state_dict", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError("the checkpoint holds no state_dict of tensors", path=path)
    return {(name[len("module."):] if name.startswith("module.") else name): tensor
            for name, tensor in state.items()}


def stored_model_config(path: str | Path) -> ModelConfig | None:
    """The ModelConfig a `model.train` checkpoint records; None for the authors' checkpoints (no record)."""
    return _config_in(_read_payload(path), path)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors by name, `module.` prefixes stripped."""
    return _state_in(_read_payload(path), path)


def _summary(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" ... (+{len(names) - limit} more)" if len(names) > limit else "")


def load_into(model: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Copy `state` into `model`; ModelError naming missing/unexpected/mis-shaped tensors."""
    expected = model.state_dict()
    missing = sorted(n for n in expected if n not in state and not n.endswith(_IGNORED_SUFFIXES))
    unexpected = sorted(n for n in state if n not in expected)
    mismatched = sorted(f"{n} {tuple(state[n].shape)} != {tuple(t.shape)}"
                        for n, t in expected.items() if n in state and state[n].shape != t.shape)
    if missing or unexpected or mismatched:
        problems = []
        if missing:
            problems.append(f"missing {len(missing)}: {_summary(missing)}")
        if unexpected:
            problems.append(f"unexpected {len(unexpected)}: {_summary(unexpected)}")
        if mismatched:
            problems.append(f"wrong shape {len(mismatched)}: {_summary(mismatched)}")
        raise ModelError("the checkpoint does not match the SiamMask architecture", details="; ".join(problems),
                         path=path)
    model.load_state_dict(state, strict=False)


def load_checkpoint(path: str | Path, config: ModelConfig | None = None) -> SiamMask:
    """A `SiamMask` in eval mode with the checkpoint's weights; the architecture is `config`, else the one
    the checkpoint records (model.train), else the authors' ResNet-50 SiamMask."""
    payload = _read_payload(path)
    model = SiamMask(config or _config_in(payload, path) or ModelConfig())
    load_into(model, _state_in(payload, path), path)
    return model.eval()
