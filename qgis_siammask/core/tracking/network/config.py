"""The one explicit configuration object every network part and the exporter are built from."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


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
    def from_metadata(cls, data: dict) -> "ModelConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        for key in ("anchor_ratios", "anchor_scales"):
            if key in values:
                values[key] = tuple(float(v) for v in values[key])
        return cls(**values)
