"""SiamMask multi-target tracker: the runtime engine, needing only the exported TorchScript file.

    tracker = SiamMaskTracker("siammask.pt", device="auto")
    tracks = tracker.init(frame_bgr, [(x, y, w, h), ...], labels=["car", ...])
    tracks = tracker.update(next_frame_bgr)        # every target in one batched forward pass

Per frame and target it follows the authors' SiamMask tracker step by step (search crop around the last
position, anchor decoding, scale/ratio penalty, cosine window, refined mask at the best cell, mask pasted
back into the frame, rotated box from the largest contour), so results match the original code.
A score under `score_threshold` for `lost_after_frames` frames in a row marks a target lost, and so
does a score or mask area far off the track's own recent ones (confidence.py); lost targets keep being
searched and come back to "tracking" when the evidence recovers.

`update(frame, search_hints={track_id: SearchHint})` lets the caller say where each target should be
(from the telemetry: guidance.py): the search is centred there and its size scaled by the hint's
zoom factor, and a lost target coasts at the hinted position instead of following whatever the network
finds. Without hints every step is the authors'.

On CPU the step runs on the host with the authors' exact crops (bit-identical to their code); on CUDA
it runs on the device (`device_step`: crops, decoding and the best cell there, one CUDA graph per target
count). The mask is pasted back and outlined only over the part of the frame the mask patch covers.
"""
from __future__ import annotations

import dataclasses
import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..definitions import (
    DEFAULT_SCORE_THRESHOLD,
    PRECISION_FP32,
    PRECISION_TF32,
    STATUS_LOST,
    STATUS_TRACKING,
)
from ..errors import TrackerError
from ..records import SearchHint, Track
from . import crops
from .confidence import ConfidenceRule, FrameEvidence, TrackConfidence
from .device_step import DeviceStep, StageClock, cuda_math, timed
from .model_file import import_torch, load_model, resolve_device, resolve_precision


@dataclass
class TargetState:
    """One target's tracker state: centre (x, y) and size (w, h) in frame pixels, float64."""

    track_id: int
    label: str
    center_xy: np.ndarray
    size_wh: np.ndarray
    fill_bgr: np.ndarray = field(repr=False)  # mean colour of the init frame, pads crops
    exemplar: np.ndarray = field(repr=False)  # (127, 127, 3) uint8 template crop
    score: float = 1.0
    status: str = STATUS_TRACKING
    confidence: TrackConfidence = field(default_factory=TrackConfidence, repr=False)
    age: int = 0


class SiamMaskTracker:
    """Tracks several targets through a frame sequence with one batched forward pass per frame.

    `device_steps` runs each frame's step on the network's device (default: on CUDA yes, on CPU no, as
    the host path is the bit-exact one); `time_stages` sums seconds per stage in `stage_seconds`
    (crop, network, decode, paste; benchmarks only: it waits for the device around each stage).
    """

    def __init__(self, model_path: str | Path, device: str = "auto",
                 score_threshold: float = DEFAULT_SCORE_THRESHOLD, lost_after_frames: int = 5,
                 num_threads: int | None = None, precision: str = PRECISION_FP32,
                 device_steps: bool | None = None, time_stages: bool = False):
        self._torch = import_torch()
        if num_threads:
            self._torch.set_num_threads(int(num_threads))
        self.device = resolve_device(device)
        self._dtype = resolve_precision(precision, self.device)
        self.precision = precision
        self._net, self.model_metadata = load_model(model_path, self.device)
        self.model_info = self.model_metadata.config  # architecture and tracking settings
        on_cuda = self.device.startswith("cuda")
        # Reduced precision runs fastest with channels-last images (oneDNN's and tensor cores' layout).
        self._channels_last = precision != PRECISION_FP32
        if self._dtype != self._torch.float32:
            self._net.to(self._dtype)
        if self._channels_last and on_cuda:
            self._net.to(memory_format=self._torch.channels_last)
        self.score_threshold = float(score_threshold)
        self.lost_after_frames = max(1, int(lost_after_frames))
        info = self.model_info
        self._anchors = crops.anchor_grid(info.anchor_stride, info.anchor_ratios, info.anchor_scales,
                                          info.score_size)
        self._window = crops.cosine_window(info.score_size, info.anchor_num)
        self._device_step = None
        if device_steps if device_steps is not None else on_cuda:
            self._device_step = DeviceStep(self._net, info, self.device, self._dtype, self._channels_last,
                                           self._anchors, self._window, graphs=on_cuda)
        self._clock = StageClock(self.device) if time_stages else None
        self._targets: list[TargetState] = []
        self._kernels: list = []  # per target (1, K*256, 5, 5) template kernels
        self._kernel_batch = None  # their concatenation, kept until targets change
        self._frame_wh: tuple[int, int] | None = None
        self._next_id = 1

    # --- public API ------------------------------------------------------------------------
    @property
    def targets(self) -> list[TargetState]:
        return list(self._targets)

    @property
    def stage_seconds(self) -> dict[str, float]:
        """Seconds per stage (crop, network, decode, paste) summed since construction; empty unless
        the tracker was made with `time_stages`."""
        return dict(self._clock.seconds) if self._clock else {}

    def init(self, frame_bgr: np.ndarray, boxes_xywh, labels=None, reset: bool = False,
             track_ids=None) -> list[Track]:
        """Start tracking `boxes_xywh` (x, y, w, h, top-left origin) on this frame; returns their tracks.

        With `reset` the existing targets are dropped first and ids restart at 1; otherwise the new
        ones are added with fresh ids. `track_ids` gives the boxes their ids instead (a track continued
        from an earlier run keeps its id); later fresh ids come after the highest.
        """
        frame = self._check_frame(frame_bgr, new_video=reset or not self._targets)
        boxes = [self._check_box(box, frame.shape) for box in boxes_xywh]
        labels = list(labels) if labels is not None else []
        if labels and len(labels) != len(boxes):
            raise TrackerError(f"{len(labels)} labels given for {len(boxes)} boxes")
        if reset:
            self._targets, self._kernels, self._kernel_batch, self._next_id = [], [], None, 1
        ids = self._new_ids(len(boxes), track_ids)
        if reset or not self._targets:
            self._frame_wh = (frame.shape[1], frame.shape[0])
        if not boxes:
            return []
        fill = np.mean(frame, axis=(0, 1))
        info = self.model_info
        centers = [np.array([x + w / 2, y + h / 2], np.float64) for x, y, w, h in boxes]
        sizes = [np.array([w, h], np.float64) for _, _, w, h in boxes]
        sides = [round(crops.context_side(size, info.context_amount)) for size in sizes]
        with self._torch.no_grad(), self._math():
            if self._device_step is not None:
                params = np.stack([self._crop_params(c, side, fill) for c, side in zip(centers, sides)])
                exemplar_batch, exemplars = self._device_step.exemplars(frame, params)
            else:
                exemplars = [crops.subwindow(frame, c, info.exemplar_size, side, fill)
                             for c, side in zip(centers, sides)]
                exemplar_batch = self._to_tensor(exemplars)
            kernels = self._net.template(exemplar_batch)
        new_targets = []
        for i in range(len(boxes)):
            label = str(labels[i]) if labels else ""
            new_targets.append(TargetState(ids[i], label, centers[i], sizes[i], fill, exemplars[i]))
        self._kernels += list(kernels.split(1))
        self._kernel_batch = None
        self._targets += new_targets
        return [self._track_of(t, None, self._initial_box(t)) for t in new_targets]

    def _new_ids(self, count: int, track_ids) -> list[int]:
        """Ids for `count` new targets: `track_ids` (checked: one per box, none in use) or the next fresh
        ones; the next fresh id moves past them."""
        if track_ids is None:
            ids = list(range(self._next_id, self._next_id + count))
        else:
            ids = [int(track_id) for track_id in track_ids]
            in_use = {t.track_id for t in self._targets}
            if len(ids) != count or len(set(ids)) != count or in_use & set(ids):
                raise TrackerError(f"track ids {ids} for {count} boxes: one each, none already tracked")
        self._next_id = max([self._next_id - 1, *ids]) + 1
        return ids

    @property
    def confidence_rule(self) -> ConfidenceRule:
        return ConfidenceRule(score_threshold=self.score_threshold, lost_after_frames=self.lost_after_frames)

    def update(self, frame_bgr: np.ndarray, search_hints: dict[int, SearchHint] | None = None) -> list[Track]:
        """Track every target into this frame (one batched forward pass); returns one Track per target.

        `search_hints` (track id -> SearchHint) re-centre and re-scale the search of those targets first.
        """
        if not self._targets:
            return []
        frame = self._check_frame(frame_bgr, new_video=False)
        hints = [(search_hints or {}).get(t.track_id) for t in self._targets]
        for target, hint in zip(self._targets, hints):
            if hint is not None:  # sizes kept within the frame, as after every step
                target.center_xy = np.asarray(hint.center_xy, np.float64).copy()
                target.size_wh = np.clip(target.size_wh * float(hint.scale), 10.0, self._frame_wh)
        plans = [self._search_plan(t) for t in self._targets]
        if self._kernel_batch is None:
            self._kernel_batch = self._torch.cat(self._kernels)
        with self._torch.no_grad(), self._math():
            step = self._device_step_choices if self._device_step is not None else self._host_step_choices
            choices, patches = step(frame, plans)
        with timed(self._clock, "paste"):
            return [self._finish(t, c, plans[i], None if patches is None else patches[i], hints[i])
                    for i, (t, c) in enumerate(zip(self._targets, choices))]

    def set_target_state(self, track_id: int, center_xy, size_wh) -> None:
        """Re-seat a target (centre x, y and size w, h in px) before the next update, e.g. after a correction."""
        for target in self._targets:
            if target.track_id == track_id:
                target.center_xy = np.asarray(center_xy, np.float64).copy()
                target.size_wh = np.asarray(size_wh, np.float64).copy()
                return
        raise TrackerError(f"no target with track id {track_id}")

    def remove(self, track_id: int) -> None:
        """Stop tracking one target."""
        for i, target in enumerate(self._targets):
            if target.track_id == track_id:
                del self._targets[i], self._kernels[i]
                self._kernel_batch = None
                return
        raise TrackerError(f"no target with track id {track_id}")

    # --- steps -----------------------------------------------------------------------------
    def _host_step_choices(self, frame: np.ndarray, plans: list[tuple[int, float]]):
        """The step with host crops and decoding (the CPU path, bit-exact): (choices, mask patches or None)."""
        torch, info = self._torch, self.model_info
        with timed(self._clock, "crop"):
            search = self._to_tensor([crops.subwindow(frame, t.center_xy, info.instance_size, side, t.fill_bgr)
                                      for t, (side, _) in zip(self._targets, plans)])
        with timed(self._clock, "network"):
            score_map, delta_map, p0, p1, p2, mask_corr = self._net(search, self._kernel_batch)
        with timed(self._clock, "decode"):
            count = score_map.shape[0]
            scores = torch.softmax(score_map.float().reshape(count, 2, -1), dim=1)[:, 1].cpu().numpy()
            deltas = delta_map.reshape(count, 4, -1).float().cpu().numpy()
            choices = [self._choose(t, scores[i], deltas[i], plans[i][1]) for i, t in enumerate(self._targets)]
        if not info.has_mask:
            return choices, None
        with timed(self._clock, "network"):
            cells = torch.tensor([[c.cell_y, c.cell_x] for c in choices], dtype=torch.long, device=search.device)
            return choices, self._net.refine_mask(p0, p1, p2, mask_corr, cells).float().cpu().numpy()

    def _device_step_choices(self, frame: np.ndarray, plans: list[tuple[int, float]]):
        """The step on the network's device (`DeviceStep`): (choices, mask patches or None)."""
        params = np.stack([self._crop_params(t.center_xy, side, t.fill_bgr, t.size_wh * scale)
                           for t, (side, scale) in zip(self._targets, plans)])
        result = self._device_step.run(frame, params, self._kernel_batch, self._clock)
        cells = self.model_info.score_size ** 2
        choices = [_Choice(int(result.best[i]), *divmod(int(result.best[i]) % cells, self.model_info.score_size),
                           result.box_in_crop[i] / scale, float(result.penalised_score[i] * self.model_info.lr),
                           float(result.score[i]))
                   for i, (_, scale) in enumerate(plans)]
        return choices, result.mask_patches

    @staticmethod
    def _crop_params(center_xy: np.ndarray, side: int, fill_bgr: np.ndarray,
                     size_in_crop: np.ndarray = (0.0, 0.0)) -> np.ndarray:
        """One `DeviceStep` parameter row: window origin x, y, side, fill B, G, R (as the host crops cast
        it), target w, h in crop px."""
        fill = np.asarray(fill_bgr, np.float64).astype(np.uint8)
        return np.array([*crops.window_origin(center_xy, side), side, *fill, *size_in_crop], np.float64)

    def _search_plan(self, target: TargetState) -> tuple[int, float]:
        """(search crop side in frame px, crop scale: model px per frame px) for this target."""
        info = self.model_info
        side = crops.context_side(target.size_wh, info.context_amount)
        scale = info.exemplar_size / side
        side += 2 * ((info.instance_size - info.exemplar_size) / 2) / scale
        return round(side), scale

    def _choose(self, target: TargetState, score: np.ndarray, delta: np.ndarray, scale: float) -> "_Choice":
        """Decode anchors, penalise scale/ratio changes and far moves, pick the best anchor."""
        info = self.model_info
        anchors = self._anchors
        delta[0] = delta[0] * anchors[:, 2] + anchors[:, 0]
        delta[1] = delta[1] * anchors[:, 3] + anchors[:, 1]
        delta[2] = np.exp(delta[2]) * anchors[:, 2]
        delta[3] = np.exp(delta[3]) * anchors[:, 3]
        size_in_crop = target.size_wh * scale
        with np.errstate(over="ignore"):  # absurd anchor sizes overflow to inf: penalty 0, never chosen
            scale_change = _change(_padded_side(delta[2], delta[3]) / _padded_side(size_in_crop[0], size_in_crop[1]))
            ratio_change = _change((size_in_crop[0] / size_in_crop[1]) / (delta[2] / delta[3]))
            penalty = np.exp(-(ratio_change * scale_change - 1) * info.penalty_k)
        pscore = penalty * score
        pscore = pscore * (1 - info.window_influence) + self._window * info.window_influence
        best = int(np.argmax(pscore))
        _, cell_y, cell_x = np.unravel_index(best, (info.anchor_num, info.score_size, info.score_size))
        return _Choice(best, int(cell_y), int(cell_x), delta[:, best] / scale,
                       float(penalty[best] * score[best] * info.lr), float(score[best]))

    def _finish(self, target: TargetState, choice: "_Choice", plan: tuple[int, float],
                mask_patch: np.ndarray | None, hint: SearchHint | None = None) -> Track:
        info = self.model_info
        width, height = self._frame_wh
        side, _ = plan
        crop_x0 = target.center_xy[0] - side / 2
        crop_y0 = target.center_xy[1] - side / 2
        move = choice.box_in_frame
        center = np.array([move[0] + target.center_xy[0], move[1] + target.center_xy[1]])
        lr = choice.lr
        size = np.array([target.size_wh[0] * (1 - lr) + move[2] * lr, target.size_wh[1] * (1 - lr) + move[3] * lr])
        fallback = (center[0] - size[0] / 2, center[1] - size[1] / 2, size[0], size[1])
        mask = None
        if mask_patch is not None:
            pixel = side / info.instance_size
            patch_box = (crop_x0 + (choice.cell_x - info.base_size / 2) * info.anchor_stride * pixel,
                         crop_y0 + (choice.cell_y - info.base_size / 2) * info.anchor_stride * pixel,
                         pixel * info.exemplar_size, pixel * info.exemplar_size)
            mask, corners, bbox = crops.frame_mask(mask_patch, patch_box, (width, height), info.seg_thr, fallback)
        else:
            corners, bbox = crops.mask_boxes(np.zeros((1, 1), np.uint8), fallback)
        searched_center, searched_size = target.center_xy, target.size_wh
        target.center_xy = np.array([min(max(center[0], 0.0), width), min(max(center[1], 0.0), height)])
        target.size_wh = np.array([min(max(size[0], 10.0), width), min(max(size[1], 10.0), height)])
        target.score = choice.score
        target.age += 1
        in_view = bool(np.array_equal(center, target.center_xy))  # not clamped to the frame
        in_view = in_view and (hint is None or _inside(hint.center_xy, width, height))
        evidence = FrameEvidence(choice.score, float(np.count_nonzero(mask)) if mask is not None else None,
                                 float(hint.scale) if hint is not None else 1.0, in_view)
        target.status = target.confidence.judge(evidence, self.confidence_rule)
        if hint is not None and target.status == STATUS_LOST:  # coast: stay where the telemetry says
            target.center_xy, target.size_wh = searched_center, searched_size
            empty = np.zeros((height, width), bool) if mask is not None else None
            return dataclasses.replace(self._track_of(target, empty, self._initial_box(target)), coasted=True,
                                       steady=False)
        track = self._track_of(target, mask, corners, bbox)
        return dataclasses.replace(track, steady=target.confidence.steady)

    # --- helpers ---------------------------------------------------------------------------
    def _math(self):
        """TF32 off (fp32) or on (tf32) and cuDNN autotuning during CUDA work; nothing on CPU."""
        return cuda_math(self.precision == PRECISION_TF32) if self.device.startswith("cuda") else nullcontext()

    def _track_of(self, target: TargetState, mask: np.ndarray | None, corners: np.ndarray,
                  bbox_xywh: tuple[float, float, float, float] | None = None) -> Track:
        """The reported track; its box is the mask's when there is one (`bbox_xywh`), else the state's."""
        if bbox_xywh is None:
            (cx, cy), (w, h) = target.center_xy, target.size_wh
            bbox_xywh = (float(cx - w / 2), float(cy - h / 2), float(w), float(h))
        return Track(track_id=target.track_id, label=target.label, bbox_xywh=bbox_xywh,
                     rotated_box=corners, mask=mask, score=float(target.score), status=target.status,
                     age=target.age)

    @staticmethod
    def _initial_box(target: TargetState) -> np.ndarray:
        x, y = target.center_xy - target.size_wh / 2
        w, h = target.size_wh
        return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64)

    def _to_tensor(self, images: list[np.ndarray]):
        """(N, H, W, 3) uint8 crops -> (N, 3, H, W) in the network's dtype on the device (BGR 0-255)."""
        batch = self._torch.from_numpy(np.stack(images)).to(self.device).permute(0, 3, 1, 2).to(self._dtype)
        layout = self._torch.channels_last if self._channels_last else self._torch.contiguous_format
        return batch.contiguous(memory_format=layout)

    def _check_frame(self, frame: np.ndarray, new_video: bool) -> np.ndarray:
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            shape = getattr(frame, "shape", None)
            raise TrackerError(f"frames must be (H, W, 3) uint8 BGR arrays, got {type(frame).__name__} {shape}")
        if frame.shape[0] < 2 or frame.shape[1] < 2:
            raise TrackerError(f"frame of {frame.shape[1]}x{frame.shape[0]} px is too small")
        size = (frame.shape[1], frame.shape[0])
        if self._frame_wh is not None and size != self._frame_wh and not new_video:
            raise TrackerError(f"frame size changed from {self._frame_wh[0]}x{self._frame_wh[1]} to "
                               f"{size[0]}x{size[1]} px; call init(..., reset=True) for a new video")
        return frame

    @staticmethod
    def _check_box(box, frame_shape) -> tuple[float, float, float, float]:
        try:
            x, y, w, h = (float(v) for v in box)
        except (TypeError, ValueError) as error:
            raise TrackerError(f"box {box!r} is not four numbers x, y, w, h") from error
        if not all(math.isfinite(v) for v in (x, y, w, h)):
            raise TrackerError(f"box {box!r} has a non-finite value")
        if w <= 0 or h <= 0:
            raise TrackerError(f"box {box!r} has a zero or negative size (width {w:g}, height {h:g} px)")
        height, width = frame_shape[:2]
        if x >= width or y >= height or x + w <= 0 or y + h <= 0:
            raise TrackerError(f"box {box!r} lies entirely outside the {width}x{height} px frame")
        return x, y, w, h


@dataclass(frozen=True)
class _Choice:
    index: int
    cell_y: int
    cell_x: int
    box_in_frame: np.ndarray  # (dx, dy, w, h) in frame px relative to the previous centre
    lr: float
    score: float


def _inside(point_xy, width: int, height: int) -> bool:
    return 0.0 <= float(point_xy[0]) <= width and 0.0 <= float(point_xy[1]) <= height


def _change(ratio: np.ndarray) -> np.ndarray:
    return np.maximum(ratio, 1.0 / ratio)


def _padded_side(w, h):
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))
