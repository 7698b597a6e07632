"""The one model-metadata schema: what the network is built from, what the export writes into the
model file (TorchScript `.pt` or torch.export `.pt2`), what the tracker runs with and what the model list
shows.

Torch-free, so the model list reads a file's metadata with `zipfile` alone (`ModelMetadata.read`): both
formats are zips holding it as `<root>/extra/MODEL_METADATA_FILE`.
"""
from __future__ import annotations

import dataclasses
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ...definitions import MODEL_FORMAT_VERSION, MODEL_METADATA_FILE
from ...errors import ModelError


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and tracking hyper-parameters of a SiamMask model.

    Defaults are the authors' `siammask_sharp` DAVIS settings (`config_davis.json`); the exported
    TorchScript file carries them as metadata so the runtime tracker needs nothing else.
    """

    name: str = "siammask_sharp"
    backbone: str = "resnet50"
    feature_channels: int = 256  # adjusted backbone feature width fed to the correlation heads
    # Anchors (`anchors` block of the config): base size stride**2, one anchor per ratio and scale.
    anchor_stride: int = 8
    anchor_ratios: tuple[float, ...] = (0.33, 0.5, 1.0, 2.0, 3.0)
    anchor_scales: tuple[float, ...] = (8.0,)
    # Crop sizes in pixels.
    exemplar_size: int = 127
    instance_size: int = 255
    base_size: int = 8
    out_size: int = 127  # side of the refined mask patch
    mask_head_size: int = 63  # side of the coarse (non-refined) mask head output
    context_amount: float = 0.5
    # Tracking hyper-parameters (`hp` block).
    penalty_k: float = 0.04
    window_influence: float = 0.4
    lr: float = 1.0
    seg_thr: float = 0.35
    has_mask: bool = True
    has_refine: bool = True
    extra: dict = field(default_factory=dict, compare=False)  # free-form provenance notes

    @property
    def anchor_num(self) -> int:
        return len(self.anchor_ratios) * len(self.anchor_scales)

    @property
    def score_size(self) -> int:
        """Side of the score map: (255 - 127) / 8 + 1 + 8 = 25 for the defaults."""
        return (self.instance_size - self.exemplar_size) // self.anchor_stride + 1 + self.base_size

    def to_metadata(self) -> dict:
        """A JSON-ready dict: the fields plus the derived sizes the tracker reads."""
        data = dataclasses.asdict(self)
        data["anchor_ratios"] = list(self.anchor_ratios)
        data["anchor_scales"] = list(self.anchor_scales)
        data["anchor_num"] = self.anchor_num
        data["score_size"] = self.score_size
        return data

    @classmethod
    def from_metadata(cls, data: dict, path: str | Path | None = None) -> "ModelConfig":
        """The config `to_metadata` wrote; ModelError naming missing or mistyped fields (`extra` optional)."""
        values, problems = {}, []
        for spec in dataclasses.fields(cls):
            if spec.name not in data:
                if spec.name != "extra":
                    problems.append(f"missing {spec.name}")
                continue
            value = data[spec.name]
            try:
                if spec.name in ("anchor_ratios", "anchor_scales"):
                    values[spec.name] = tuple(float(v) for v in value)
                elif spec.name == "extra":
                    values[spec.name] = dict(value)
                else:
                    values[spec.name] = type(spec.default)(value)
            except (TypeError, ValueError):
                problems.append(f"{spec.name} = {value!r}")
        if problems:
            raise ModelError("the model's metadata is incomplete", details=", ".join(problems), path=path)
        return cls(**values)


@dataclass(frozen=True)
class ModelMetadata:
    """A model file's metadata (JSON member `MODEL_METADATA_FILE`): the config it was built with, where
    its weights came from (checkpoint file name, sha256 and the address it came from) and the torch
    release that wrote the file (a `.pt2` needs that one or newer; empty in files written before)."""

    config: ModelConfig
    source_checkpoint: str = ""
    source_sha256: str = ""
    source_url: str = ""
    written_by_torch: str = ""

    def to_json(self) -> str:
        data = self.config.to_metadata()
        data.update(format_version=MODEL_FORMAT_VERSION, source_checkpoint=self.source_checkpoint,
                    source_sha256=self.source_sha256, source_url=self.source_url,
                    written_by_torch=self.written_by_torch)
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes, path: str | Path | None = None) -> "ModelMetadata":
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ModelError("the model's metadata is not valid JSON", details=str(error), path=path) from error
        if not isinstance(data, dict) or data.get("format_version") != MODEL_FORMAT_VERSION:
            version = data.get("format_version") if isinstance(data, dict) else None
            raise ModelError(f"unsupported model format version {version!r} "
                             f"(this plugin reads version {MODEL_FORMAT_VERSION})", path=path)
        return cls(ModelConfig.from_metadata(data, path), str(data.get("source_checkpoint", "")),
                   str(data.get("source_sha256", "")), str(data.get("source_url", "")),
                   str(data.get("written_by_torch", "")))

    @classmethod
    def read(cls, path: str | Path) -> "ModelMetadata":
        """The metadata of a model file (either format), read from its zip member without torch (fast, any
        thread)."""
        try:
            with zipfile.ZipFile(path) as archive:
                members = [n for n in archive.namelist() if n.endswith(f"/extra/{MODEL_METADATA_FILE}")]
                if not members:
                    raise ModelError(f"not a SiamMask TorchScript model or torch.export archive (no "
                                     f"{MODEL_METADATA_FILE} inside)",
                                     path=path)
                return cls.from_json(archive.read(members[0]), path)
        except FileNotFoundError as error:
            raise ModelError("model file not found", path=path) from error
        except (OSError, zipfile.BadZipFile) as error:
            raise ModelError("not a SiamMask TorchScript model or torch.export archive (not a zip)",
                             details=f"{type(error).__name__}: {error}", path=path) from error
