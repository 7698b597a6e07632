"""`python -m model.train`: train or fine-tune SiamMask on a YouTube-VOS or DAVIS layout dataset.

    python -m model.train --data DIR --layout youtubevos|davis --backbone resnet18_light|resnet50 \
        --epochs N --out DIR [--resume CKPT] [--init CKPT] [--device cpu|cuda] [--seed S] [--export MODEL.pt]

Every epoch writes `OUT/last.pth` (and `OUT/best.pth` when the validation box IoU improves) in the
authors' checkpoint format, a dict whose `state_dict` holds the network's tensors, plus `model_config`
(ModelConfig metadata), `epoch`, `optimizer` and `history` that `--resume` restores. Such a file exports
with `python -m qgis_siammask models convert OUT/best.pth --out MODEL.pt` (or `--export` here).
`--init` starts from another checkpoint's weights (fine-tuning, e.g. the authors' SiamMask_DAVIS.pth
with --backbone resnet50). Validation: pairs from held-out videos without augmentation; the box of the
best-scoring anchor against the truth (box IoU) and the refined mask at that cell (mask IoU).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from qgis_siammask.core.cli import report_error
from qgis_siammask.core.errors import SiamMaskError
from qgis_siammask.core.tracking.network import backbone_light
from qgis_siammask.core.tracking.network.checkpoint import load_into, read_state_dict
from qgis_siammask.core.tracking.network.config import ModelConfig
from qgis_siammask.core.tracking.network.export import export_torchscript
from qgis_siammask.core.tracking.network.siammask import SiamMask

from .dataset import LAYOUTS, PairSamplingConfig, SiamMaskPairs, index_dataset, split_tracks
from .losses import LossWeights, box_loss, combine, mask_iou, mask_loss, mask_windows, score_loss
from .targets import AnchorTargetConfig, anchor_iou, decode_deltas, make_anchors

LAST_CHECKPOINT = "last.pth"
BEST_CHECKPOINT = "best.pth"


@dataclass(frozen=True)
class TrainingConfig:
    data: Path
    out: Path
    layout: str = "youtubevos"
    backbone: str = backbone_light.LIGHT_BACKBONE
    feature_channels: int | None = None  # None: 256 for resnet50, 64 for the light backbone
    backbone_widths: tuple[int, ...] | None = None
    epochs: int = 10
    samples_per_epoch: int = 2000
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    validation_fraction: float = 0.1
    validation_samples: int = 128
    seed: int = 0
    device: str = "cpu"
    workers: int = 0
    threads: int | None = None
    resume: Path | None = None
    init: Path | None = None
    export: Path | None = None
    loss_weights: LossWeights = field(default_factory=LossWeights.paper)
    progress: bool = True


@dataclass
class EpochResult:
    epoch: int
    loss: float
    score_loss: float
    box_loss: float
    mask_loss: float
    val_box_iou: float | None
    val_mask_iou: float | None
    seconds: float


@dataclass
class TrainingResult:
    last_checkpoint: Path
    best_checkpoint: Path | None
    history: list[EpochResult]
    exported: Path | None = None


def model_config_for(cfg: TrainingConfig) -> ModelConfig:
    light = cfg.backbone == backbone_light.LIGHT_BACKBONE
    channels = cfg.feature_channels or (64 if light else 256)
    extra = {"backbone_widths": list(cfg.backbone_widths)} if cfg.backbone_widths else {}
    return ModelConfig(name=f"siammask_{cfg.backbone}", backbone=cfg.backbone, feature_channels=channels,
                       extra=extra)


def _targets_for(config: ModelConfig) -> AnchorTargetConfig:
    return AnchorTargetConfig(search_size=config.instance_size, exemplar_size=config.exemplar_size,
                              stride=config.anchor_stride, base_size=config.base_size,
                              ratios=tuple(config.anchor_ratios), scales=tuple(config.anchor_scales))


def _to_device(batch: dict, device: torch.device) -> dict:
    return {k: torch.as_tensor(v).to(device) for k, v in batch.items()}


def _collate(items: list[dict]) -> dict:
    return {k: torch.from_numpy(np.stack([item[k] for item in items])) for k in items[0]}


def mask_positions(mask_weight: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One random positive cell per sample: positions (B, 2) long (y, x) and has_positive (B,) bool.

    Samples without a positive cell (negative pairs) get the centre cell and are left out of the loss.
    """
    batch, _, height, width = mask_weight.shape
    flat = mask_weight.reshape(batch, -1)
    has_positive = flat.sum(1) > 0
    weights = torch.where(has_positive[:, None], flat, torch.ones_like(flat)).cpu()
    cells = torch.multinomial(weights, 1, generator=generator)[:, 0]
    centre = (height // 2) * width + width // 2
    cells = torch.where(has_positive.cpu(), cells, torch.full_like(cells, centre)).to(mask_weight.device)
    return torch.stack([cells // width, cells % width], dim=1), has_positive


def compute_losses(model: SiamMask, batch: dict, weights: LossWeights, generator: torch.Generator):
    positions, has_positive = mask_positions(batch["mask_weight"], generator)
    output = model(batch["exemplar"], batch["search"], positions)
    score = score_loss(output.score, batch["label_cls"])
    box = box_loss(output.delta, batch["label_delta"], batch["label_delta_weight"])
    rows = torch.nonzero(has_positive)[:, 0]
    window_index = torch.cat([rows[:, None], positions[rows]], dim=1)
    mask = mask_loss(output.mask_logits[rows], mask_windows(batch["search_mask"], window_index))
    return combine(weights, score, box, mask)


@torch.no_grad()
def validate(model: SiamMask, pairs: SiamMaskPairs, batch_size: int, device: torch.device) -> tuple[float, float]:
    """Mean box IoU of the best-scoring anchor's box, and mean mask IoU of the mask at its cell."""
    model.eval()
    anchors = make_anchors(pairs.targets)
    count = anchors.shape[1]
    box_ious, mask_ious = [], []
    for start in range(0, len(pairs), batch_size):
        batch = _to_device(_collate([pairs[i] for i in range(start, min(start + batch_size, len(pairs)))]), device)
        output = model(batch["exemplar"], batch["search"])
        foreground = torch.softmax(output.score.reshape(output.score.shape[0], 2, count, -1), dim=1)[:, 1]
        best = foreground.reshape(foreground.shape[0], -1).argmax(dim=1).cpu().numpy()
        delta = output.delta.reshape(output.delta.shape[0], 4, count, -1).cpu().numpy()
        size = output.score.shape[-1]
        cells = []
        for b, index in enumerate(best):
            anchor, cell = divmod(int(index), size * size)
            y, x = divmod(cell, size)
            box = decode_deltas(anchors[:, anchor, y, x], delta[b, :, anchor, cell])
            truth = batch["search_box"][b].cpu().numpy()
            box_ious.append(float(anchor_iou(np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2,
                                                        box[2] - box[0], box[3] - box[1]]), truth)))
            cells.append((y, x))
        positions = torch.tensor(cells, dtype=torch.long, device=device)
        masks = model(batch["exemplar"], batch["search"], positions).mask_logits
        index = torch.cat([torch.arange(len(cells), device=device)[:, None], positions], dim=1)
        mask_ious.extend(mask_iou(masks, mask_windows(batch["search_mask"], index)).tolist())
    model.train()
    return float(np.mean(box_ious)), float(np.mean(mask_ious))


def _save(path: Path, model: SiamMask, optimizer, epoch: int, history: list[EpochResult], cfg: TrainingConfig):
    payload = {
        "state_dict": model.state_dict(),
        "model_config": model.config.to_metadata(),
        "epoch": epoch,
        "optimizer": optimizer.state_dict(),
        "history": [dataclasses.asdict(h) for h in history],
        "training": {k: (str(v) if isinstance(v, Path) else v)
                     for k, v in dataclasses.asdict(cfg).items() if k != "loss_weights"},
    }
    temporary = path.with_suffix(".tmp")
    torch.save(payload, temporary)
    temporary.replace(path)


def _learning_rate_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    """Linear warm-up, then cosine decay to 5 % of the base rate."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def train(cfg: TrainingConfig, log=print) -> TrainingResult:
    """Run the training described by `cfg`; returns the checkpoints written and the per-epoch figures."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise SiamMaskError("--device cuda was asked for but CUDA is not available")
    device = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)
    start_epoch, history = 0, []
    resume_payload = None
    if cfg.resume:
        resume_payload = torch.load(cfg.resume, map_location="cpu", weights_only=True)
        config = ModelConfig.from_metadata(resume_payload["model_config"])
    else:
        config = model_config_for(cfg)
    model = SiamMask(config)
    if resume_payload is not None:
        load_into(model, resume_payload["state_dict"], cfg.resume)
        start_epoch = int(resume_payload["epoch"]) + 1
        history = [EpochResult(**h) for h in resume_payload.get("history", [])]
    elif cfg.init:
        load_into(model, read_state_dict(cfg.init), cfg.init)
    model.to(device).train()

    tracks = index_dataset(cfg.data, cfg.layout)
    train_tracks, val_tracks = split_tracks(tracks, cfg.validation_fraction, cfg.seed)
    targets = _targets_for(config)
    sampling = PairSamplingConfig(exemplar_size=config.exemplar_size, search_size=config.instance_size,
                                  context_amount=config.context_amount)
    train_pairs = SiamMaskPairs(train_tracks, cfg.samples_per_epoch, sampling, targets, seed=cfg.seed)
    val_pairs = SiamMaskPairs(val_tracks or train_tracks, cfg.validation_samples,
                              sampling.without_augmentation(), targets, seed=cfg.seed + 1) \
        if cfg.validation_samples > 0 else None
    log(f"data: {len(train_tracks)} training objects, {len(val_tracks)} validation objects "
        f"({cfg.layout} at {cfg.data}); model: {config.backbone}, {config.feature_channels} feature channels, "
        f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters; device {device}")

    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    if resume_payload is not None:
        optimizer.load_state_dict(resume_payload["optimizer"])
        for group in optimizer.param_groups:  # the schedule below restarts from the base rate
            group["lr"] = group["initial_lr"] = cfg.learning_rate
    steps_per_epoch = math.ceil(cfg.samples_per_epoch / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    warmup_steps, done_steps = min(steps_per_epoch, total_steps // 10 + 1), start_epoch * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _learning_rate_factor(done_steps + step, total_steps, warmup_steps))
    generator = torch.Generator().manual_seed(cfg.seed)
    cfg.out.mkdir(parents=True, exist_ok=True)
    best_iou = max((h.val_box_iou for h in history if h.val_box_iou is not None), default=-1.0)
    best_path = cfg.out / BEST_CHECKPOINT if (cfg.out / BEST_CHECKPOINT).is_file() else None

    from tqdm import tqdm

    for epoch in range(start_epoch, cfg.epochs):
        started = time.perf_counter()
        train_pairs.epoch = epoch
        loader = torch.utils.data.DataLoader(train_pairs, batch_size=cfg.batch_size, shuffle=False,
                                             num_workers=cfg.workers, collate_fn=_collate, drop_last=False)
        sums = np.zeros(4)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress, mininterval=2.0,
                   file=sys.stderr)
        for step, batch in enumerate(bar, start=1):
            terms = compute_losses(model, _to_device(batch, device), cfg.loss_weights, generator)
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            scheduler.step()
            sums += [terms.total.item(), terms.score.item(), terms.box.item(), terms.mask.item()]
            mean = sums / step
            bar.set_postfix(loss=f"{mean[0]:.3f}", score=f"{mean[1]:.3f}", box=f"{mean[2]:.3f}",
                            mask=f"{mean[3]:.3f}", refresh=False)
        bar.close()
        val_box, val_mask = validate(model, val_pairs, cfg.batch_size, device) if val_pairs else (None, None)
        mean = sums / max(1, steps_per_epoch)
        result = EpochResult(epoch, *(float(v) for v in mean), val_box, val_mask, time.perf_counter() - started)
        history.append(result)
        _save(cfg.out / LAST_CHECKPOINT, model, optimizer, epoch, history, cfg)
        if val_box is not None and val_box > best_iou:
            best_iou = val_box
            best_path = cfg.out / BEST_CHECKPOINT
            shutil.copyfile(cfg.out / LAST_CHECKPOINT, best_path)
        (cfg.out / "history.json").write_text(json.dumps([dataclasses.asdict(h) for h in history], indent=1))
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {result.loss:.4f} (score {result.score_loss:.4f}, box "
            f"{result.box_loss:.4f}, mask {result.mask_loss:.4f}); validation box IoU "
            f"{_fmt(val_box)}, mask IoU {_fmt(val_mask)}; {result.seconds:.0f} s")
    exported = None
    if cfg.export:
        source = best_path or cfg.out / LAST_CHECKPOINT
        exported = export_torchscript(source, cfg.export)
        log(f"exported {source} to {exported} ({exported.stat().st_size / 1e6:.1f} MB)")
    return TrainingResult(cfg.out / LAST_CHECKPOINT, best_path, history, exported)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="dataset root folder")
    parser.add_argument("--layout", choices=LAYOUTS, default="youtubevos")
    parser.add_argument("--backbone", default=backbone_light.LIGHT_BACKBONE,
                        help="registered backbone name (resnet50, resnet18_light)")
    parser.add_argument("--feature-channels", type=int, default=None,
                        help="correlation feature width (default 256 for resnet50, 64 for the light one)")
    parser.add_argument("--backbone-widths", type=int, nargs=4, default=None, metavar="W",
                        help="light backbone stage widths (default 16 32 64 128)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples-per-epoch", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3, help="AdamW base learning rate")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--validation-fraction", type=float, default=0.1, help="share of videos held out")
    parser.add_argument("--validation-samples", type=int, default=128)
    parser.add_argument("--loss-weights", choices=("paper", "reference-code"), default="paper",
                        help="paper: mask 32, score 1, box 1; reference-code: 36, 1, 1.2")
    parser.add_argument("--out", type=Path, required=True, help="folder for checkpoints and history.json")
    parser.add_argument("--resume", type=Path, help="continue from a model.train checkpoint (e.g. OUT/last.pth)")
    parser.add_argument("--init", type=Path, help="start from these weights (official-format checkpoint)")
    parser.add_argument("--export", type=Path, help="after training, export the best checkpoint to TorchScript")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--workers", type=int, default=0, help="data loading processes")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    weights = LossWeights.paper() if args.loss_weights == "paper" else LossWeights.reference_code()
    cfg = TrainingConfig(
        data=args.data, out=args.out, layout=args.layout, backbone=args.backbone,
        feature_channels=args.feature_channels,
        backbone_widths=tuple(args.backbone_widths) if args.backbone_widths else None, epochs=args.epochs,
        samples_per_epoch=args.samples_per_epoch, batch_size=args.batch_size, learning_rate=args.lr,
        weight_decay=args.weight_decay, validation_fraction=args.validation_fraction,
        validation_samples=args.validation_samples, seed=args.seed, device=args.device, workers=args.workers,
        threads=args.threads, resume=args.resume, init=args.init, export=args.export, loss_weights=weights,
        progress=not args.no_progress)
    try:
        train(cfg)
    except SiamMaskError as error:
        return report_error(error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
