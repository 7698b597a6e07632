"""Training pairs for SiamMask from video-segmentation datasets (YouTube-VOS or DAVIS layout).

A sample is an exemplar crop (127 x 127) of an object in one frame and a search crop (255 x 255) of the
same object in a nearby frame, cut with the tracker's own geometry: a square of side
s_z = sqrt((w + p)(h + p)), p = context_amount * (w + h), scaled to 127 px, and the search square
s_x = s_z * 255 / 127 around the same centre. Augmentation follows the SiamMask training recipe
(shift, independent x/y scale which also jitters the aspect ratio, motion blur, grey, negatives), and
every label the losses need is computed here (model.targets) so the training loop stays simple.

Layouts:
- YouTube-VOS: `ROOT/JPEGImages/<video>/<frame>.jpg`, `ROOT/Annotations/<video>/<frame>.png` (pixel
  value = object id, 0 = background), `ROOT/meta.json` ({"videos": {video: {"objects": {id: {"frames":
  [frame, ...]}}}}}).
- DAVIS: `ROOT/JPEGImages[/480p]/<video>/*.jpg`, `ROOT/Annotations[/480p]/<video>/*.png`; object ids are
  the distinct non-zero values of the annotations (DAVIS 2016 binary 0/255 masks give one object).
  A single sequence folder (JPEGImages/*.jpg directly) is read as one video.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from qgis_siammask.core.errors import InputFileError

from .targets import AnchorTargetConfig, anchor_targets, make_anchors

LAYOUT_YOUTUBEVOS = "youtubevos"
LAYOUT_DAVIS = "davis"
LAYOUTS = (LAYOUT_YOUTUBEVOS, LAYOUT_DAVIS)


@dataclass(frozen=True)
class PairSamplingConfig:
    """Crop sizes and augmentation. Defaults are the SiamMask base training settings."""

    exemplar_size: int = 127
    search_size: int = 255
    context_amount: float = 0.5
    frame_range: int = 20  # largest frame gap between exemplar and search
    exemplar_shift_px: float = 4.0
    exemplar_scale: float = 0.05
    search_shift_px: float = 64.0
    search_scale: float = 0.18  # x and y drawn independently: this also jitters the aspect ratio
    blur_probability: float = 0.18
    gray_probability: float = 0.25
    negative_probability: float = 0.2
    min_object_px: int = 16  # frames where the object has fewer mask pixels are not sampled

    def without_augmentation(self) -> "PairSamplingConfig":
        """Validation settings: a small search shift only (as the reference's validation set)."""
        return PairSamplingConfig(
            exemplar_size=self.exemplar_size, search_size=self.search_size,
            context_amount=self.context_amount, frame_range=self.frame_range,
            exemplar_shift_px=0.0, exemplar_scale=0.0, search_shift_px=12.0, search_scale=0.0,
            blur_probability=0.0, gray_probability=0.0, negative_probability=0.0,
            min_object_px=self.min_object_px,
        )


@dataclass(frozen=True)
class ObjectTrack:
    """One object through one video: the frames where it is annotated."""

    video: str
    object_id: int
    image_paths: tuple[Path, ...]
    mask_paths: tuple[Path, ...]


def read_object_mask(mask_path: Path, object_id: int) -> np.ndarray:
    """(H, W) bool: the pixels of `object_id` in an id-valued (palette or grey) annotation PNG."""
    return read_id_png(mask_path) == object_id


def read_id_png(path: Path) -> np.ndarray:
    """(H, W) integer object ids of a palette or 8-bit grey PNG (OpenCV would expand a palette)."""
    try:
        from PIL import Image
    except ImportError:
        ids = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    else:
        with Image.open(path) as image:
            ids = np.array(image if image.mode in ("P", "L", "I", "I;16") else image.convert("L"))
    if ids is None:
        raise InputFileError("cannot read the annotation PNG", path=path)
    return ids if ids.ndim == 2 else ids[..., 0]


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputFileError("cannot read the image", path=path)
    return image


def _sorted_files(folder: Path, suffix: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == suffix)


def index_youtubevos(root: Path) -> list[ObjectTrack]:
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        raise InputFileError("not a YouTube-VOS dataset: meta.json is missing", path=root)
    try:
        videos = json.loads(meta_path.read_text())["videos"]
    except (ValueError, KeyError) as error:
        raise InputFileError("meta.json has no 'videos' mapping", details=str(error), path=meta_path)
    tracks = []
    for video, info in sorted(videos.items()):
        for object_id, obj in sorted(info.get("objects", {}).items()):
            frames = list(obj["frames"])
            images = tuple(root / "JPEGImages" / video / f"{frame}.jpg" for frame in frames)
            masks = tuple(root / "Annotations" / video / f"{frame}.png" for frame in frames)
            if len(frames) >= 2:
                tracks.append(ObjectTrack(video, int(object_id), images, masks))
    return tracks


def index_davis(root: Path) -> list[ObjectTrack]:
    images_root, masks_root = root / "JPEGImages", root / "Annotations"
    if (images_root / "480p").is_dir():
        images_root, masks_root = images_root / "480p", masks_root / "480p"
    if not images_root.is_dir() or not masks_root.is_dir():
        raise InputFileError("not a DAVIS dataset: JPEGImages/ and Annotations/ are required", path=root)
    single = any(p.suffix.lower() == ".jpg" for p in images_root.iterdir())
    video_dirs = [images_root] if single else sorted(p for p in images_root.iterdir() if p.is_dir())
    tracks = []
    for video_dir in video_dirs:
        mask_dir = masks_root if single else masks_root / video_dir.name
        masks = _sorted_files(mask_dir, ".png")
        images = [video_dir / f"{m.stem}.jpg" for m in masks]
        pairs = [(i, m) for i, m in zip(images, masks) if i.is_file()]
        if len(pairs) < 2:
            continue
        first_ids = np.unique(read_id_png(pairs[0][1]))
        name = root.name if single else video_dir.name
        for object_id in (int(v) for v in first_ids if v != 0):
            tracks.append(ObjectTrack(name, object_id, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)))
    return tracks


def index_dataset(root: str | Path, layout: str) -> list[ObjectTrack]:
    """Every object track of the dataset at `root`; raises InputFileError for a wrong layout or none."""
    root = Path(root)
    if layout not in LAYOUTS:
        raise InputFileError(f"unknown dataset layout {layout!r} (expected one of {', '.join(LAYOUTS)})")
    if not root.is_dir():
        raise InputFileError("dataset folder not found", path=root)
    tracks = index_youtubevos(root) if layout == LAYOUT_YOUTUBEVOS else index_davis(root)
    if not tracks:
        raise InputFileError(f"no annotated object with two frames or more ({layout} layout)", path=root)
    return tracks


def mask_box_xyxy(mask: np.ndarray) -> np.ndarray | None:
    """(4,) float x1, y1, x2, y2 of a boolean mask's pixels (inclusive-exclusive), None when empty."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float64)


def context_size(box_w: float, box_h: float, context_amount: float) -> float:
    """Side of the square exemplar region around a w x h target, as the tracker computes it."""
    pad = context_amount * (box_w + box_h)
    return math.sqrt((box_w + pad) * (box_h + pad))


def crop_affine(centre_xy, side_xy, out_size: int) -> np.ndarray:
    """(2, 3) affine map from frame pixels to an out_size crop of a side_x x side_y region at centre."""
    kx, ky = out_size / side_xy[0], out_size / side_xy[1]
    half = (out_size - 1) / 2.0
    return np.array([[kx, 0.0, half - kx * centre_xy[0]], [0.0, ky, half - ky * centre_xy[1]]])


def warp(image: np.ndarray, affine: np.ndarray, out_size: int, border, interpolation=cv2.INTER_LINEAR):
    return cv2.warpAffine(image, affine, (out_size, out_size), flags=interpolation,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def motion_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random linear blur (an odd-sized kernel mixing a horizontal and a vertical line)."""
    size = int(rng.integers(1, 5)) * 2 + 1
    kernel = np.zeros((size, size), np.float32)
    weight = rng.random()
    kernel[:, size // 2] += weight / size
    kernel[size // 2, :] += (1.0 - weight) / size
    return cv2.filter2D(image, -1, kernel)


class SiamMaskPairs:
    """A torch-style dataset of training pairs; item i is reproducible from (seed, epoch, i).

    Items are dicts of numpy arrays: exemplar (3, 127, 127) and search (3, 255, 255) float32 BGR 0-255
    (the network's input convention); label_cls (A, S, S) int64 in {-1 ignore, 0 negative, 1 positive};
    label_delta (4, A, S, S) float32; label_delta_weight (A, S, S) float32; search_mask (1, 255, 255)
    float32 in {-1, 1}; mask_weight (1, S, S) float32 (1 where a mask loss applies); search_box (4,)
    float32 x1, y1, x2, y2 of the target in the search crop. S = score size (25), A = anchors (5).
    """

    def __init__(self, tracks: list[ObjectTrack], samples_per_epoch: int, sampling: PairSamplingConfig,
                 targets: AnchorTargetConfig, seed: int = 0):
        self.tracks = tracks
        self.samples_per_epoch = samples_per_epoch
        self.sampling = sampling
        self.targets = targets
        self.seed = seed
        self.epoch = 0
        self.anchors = make_anchors(targets)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        for _ in range(20):
            sample = self._sample(rng)
            if sample is not None:
                return sample
        raise InputFileError("no frame with a visible object found after 20 tries: check the annotations",
                             path=self.tracks[0].mask_paths[0].parent)

    def _frame(self, track: ObjectTrack, frame: int):
        mask = read_object_mask(track.mask_paths[frame], track.object_id)
        if mask.sum() < self.sampling.min_object_px:
            return None
        return read_image(track.image_paths[frame]), mask, mask_box_xyxy(mask)

    def _sample(self, rng: np.random.Generator):
        cfg = self.sampling
        track = self.tracks[int(rng.integers(len(self.tracks)))]
        n = len(track.image_paths)
        first = int(rng.integers(n))
        lo, hi = max(0, first - cfg.frame_range), min(n - 1, first + cfg.frame_range)
        second = int(rng.integers(lo, hi + 1))
        negative = rng.random() < cfg.negative_probability and len(self.tracks) > 1
        if negative:
            other = self.tracks[int(rng.integers(len(self.tracks)))]
            while other is track:
                other = self.tracks[int(rng.integers(len(self.tracks)))]
            search_track, second = other, int(rng.integers(len(other.image_paths)))
        else:
            search_track = track
        exemplar_frame = self._frame(track, first)
        search_frame = self._frame(search_track, second)
        if exemplar_frame is None or search_frame is None:
            return None
        gray = rng.random() < cfg.gray_probability
        exemplar, _, _ = self._crop(exemplar_frame, cfg.exemplar_size, cfg.exemplar_shift_px,
                                    cfg.exemplar_scale, rng, gray, blur=False)
        search, search_mask, box = self._crop(search_frame, cfg.search_size, cfg.search_shift_px,
                                              cfg.search_scale, rng, gray, blur=rng.random() < cfg.blur_probability)
        labels = anchor_targets(self.anchors, box, self.targets, rng, negative=negative)
        mask_weight = (labels.cls.max(axis=0, keepdims=True) == 1).astype(np.float32)
        if negative:
            mask_weight[:] = 0.0
        return {
            "exemplar": exemplar, "search": search,
            "label_cls": labels.cls, "label_delta": labels.delta, "label_delta_weight": labels.delta_weight,
            "search_mask": np.where(search_mask[None] > 0.5, 1.0, -1.0).astype(np.float32),
            "mask_weight": mask_weight, "search_box": box.astype(np.float32),
        }

    def _crop(self, frame, out_size: int, shift_px: float, scale: float, rng, gray: bool, blur: bool):
        """Crop `out_size` px around the target with jitter; returns (image CHW, mask HW, box in crop)."""
        cfg = self.sampling
        image, mask, (x1, y1, x2, y2) = frame
        w, h = x2 - x1, y2 - y1
        side = context_size(w, h, cfg.context_amount) * out_size / cfg.exemplar_size
        scale_xy = 1.0 + scale * rng.uniform(-1.0, 1.0, size=2)
        side_xy = side * scale_xy
        shift_xy = shift_px * rng.uniform(-1.0, 1.0, size=2) * side_xy / out_size
        centre = np.array([(x1 + x2) / 2.0, (y1 + y2) / 2.0]) + shift_xy
        affine = crop_affine(centre, side_xy, out_size)
        border = tuple(float(v) for v in image.reshape(-1, 3).mean(axis=0))
        crop = warp(image, affine, out_size, border)
        crop_mask = warp(mask.astype(np.float32), affine, out_size, 0.0)
        if gray:
            crop = cv2.cvtColor(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        if blur:
            crop = motion_blur(crop, rng)
        corners = np.array([[x1, y1, 1.0], [x2, y2, 1.0]]) @ affine.T
        box = np.array([corners[0, 0], corners[0, 1], corners[1, 0], corners[1, 1]])
        return np.ascontiguousarray(crop.transpose(2, 0, 1), dtype=np.float32), crop_mask, box


def split_tracks(tracks: list[ObjectTrack], validation_fraction: float, seed: int):
    """(train, validation) by whole videos, so validation never sees a training video."""
    videos = sorted({t.video for t in tracks})
    order = np.random.default_rng(seed).permutation(len(videos))
    n_val = int(round(len(videos) * validation_fraction)) if len(videos) > 1 else 0
    n_val = min(max(n_val, 1 if validation_fraction > 0 and len(videos) > 1 else 0), len(videos) - 1)
    val_videos = {videos[i] for i in order[:n_val]}
    return [t for t in tracks if t.video not in val_videos], [t for t in tracks if t.video in val_videos]
