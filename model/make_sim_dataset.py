"""`python -m model.make_sim_dataset --out DIR --clips N --seed S`: a training set the project makes itself.

Writes clips in YouTube-VOS layout (JPEGImages/<clip>/<frame>.jpg, Annotations/<clip>/<frame>.png with
object ids, meta.json) so that model.train reads them like any other dataset. Two sources:
- `simulator` (default): the project's FMV simulator (qgis_siammask.core.simulator), vehicles on
  generated terrain seen from a moving aerial camera, with their per-frame pixel masks.
- `shapes`: a fast stand-in for tests and bootstrapping: rotated boxes and ellipses with shadows moving
  over a textured background with camera drift, blur and an occluder.
Clip c uses seed S + c, so two sets with disjoint seed ranges never share a clip.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SOURCE_SIMULATOR = "simulator"
SOURCE_SHAPES = "shapes"


@dataclass(frozen=True)
class ShapesClipConfig:
    width_px: int = 320
    height_px: int = 240
    frames: int = 24
    objects: int = 2


def write_clip(root: Path, clip: str, frames_bgr, id_masks) -> dict:
    """Write one clip's frames (H, W, 3) uint8 and id masks (H, W) uint8; returns its meta.json entry."""
    image_dir, mask_dir = root / "JPEGImages" / clip, root / "Annotations" / clip
    image_dir.mkdir(parents=True, exist_ok=True)
    mask_dir.mkdir(parents=True, exist_ok=True)
    objects: dict[str, dict] = {}
    for index, (frame, ids) in enumerate(zip(frames_bgr, id_masks)):
        name = f"{index:05d}"
        cv2.imwrite(str(image_dir / f"{name}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
        cv2.imwrite(str(mask_dir / f"{name}.png"), ids.astype(np.uint8))
        for object_id in np.unique(ids):
            if object_id:
                objects.setdefault(str(int(object_id)), {"category": "vehicle", "frames": []})["frames"].append(name)
    return {"objects": objects}


def textured_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(H, W, 3) uint8 ground-like texture: multi-scale smoothed noise tinted with a random palette."""
    texture = np.zeros((height, width), np.float32)
    for scale, weight in ((4, 0.5), (16, 0.3), (64, 0.2)):
        noise = rng.random((height // scale + 2, width // scale + 2)).astype(np.float32)
        texture += weight * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    low, high = rng.uniform(20, 120, 3), rng.uniform(90, 230, 3)
    image = low[None, None, :] + texture[..., None] * (high - low)[None, None, :]
    return np.clip(image, 0, 255).astype(np.uint8)


def shapes_clip(seed: int, cfg: ShapesClipConfig):
    """Frames and id masks of one synthetic clip: (F, H, W, 3) uint8, (F, H, W) uint8."""
    rng = np.random.default_rng(seed)
    margin = 64
    ground = textured_background(rng, cfg.height_px + 2 * margin, cfg.width_px + 2 * margin)
    objects = []
    for _ in range(cfg.objects):
        objects.append({
            "centre": rng.uniform([margin + 40, margin + 40], [cfg.width_px + margin - 40, cfg.height_px + margin - 40]),
            "velocity": rng.uniform(-3.0, 3.0, 2),
            "size": (rng.uniform(14, 48), rng.uniform(8, 26)),
            "angle": rng.uniform(0, 180),
            "turn": rng.uniform(-2.0, 2.0),
            "colour": tuple(float(v) for v in rng.uniform(0, 255, 3)),
            "ellipse": rng.random() < 0.3,
        })
    drift = rng.uniform(-1.5, 1.5, 2)
    occluder_x = rng.uniform(0, cfg.width_px)
    frames, masks = [], []
    for t in range(cfg.frames):
        canvas = ground.copy()
        ids = np.zeros(canvas.shape[:2], np.uint8)
        for object_id, obj in enumerate(objects, start=1):
            centre = obj["centre"] + obj["velocity"] * t
            angle = obj["angle"] + obj["turn"] * t
            shadow = (centre[0] + 4, centre[1] + 4)
            _draw(canvas, None, shadow, obj["size"], angle, (30, 30, 30), obj["ellipse"], 0)
            _draw(canvas, ids, centre, obj["size"], angle, obj["colour"], obj["ellipse"], object_id)
        offset = (margin + drift * t).astype(int)
        view = canvas[offset[1]:offset[1] + cfg.height_px, offset[0]:offset[0] + cfg.width_px].copy()
        view_ids = ids[offset[1]:offset[1] + cfg.height_px, offset[0]:offset[0] + cfg.width_px].copy()
        x = int(occluder_x + 2 * t) % cfg.width_px
        view[:, x:x + 6] = (40, 90, 40)
        view_ids[:, x:x + 6] = 0
        if rng.random() < 0.2:
            view = cv2.GaussianBlur(view, (5, 5), 0)
        frames.append(view)
        masks.append(view_ids)
    return frames, masks


def _draw(canvas, ids, centre, size, angle, colour, ellipse: bool, object_id: int):
    box = ((float(centre[0]), float(centre[1])), (float(size[0]), float(size[1])), float(angle))
    if ellipse:
        cv2.ellipse(canvas, box, colour, -1)
        if ids is not None:
            cv2.ellipse(ids, box, object_id, -1)
        return
    corners = cv2.boxPoints(box).astype(np.int32)
    cv2.fillConvexPoly(canvas, corners, colour)
    if ids is not None:
        cv2.fillConvexPoly(ids, corners, object_id)


def simulation_config(seed: int, frames: int, out_dir: Path):
    """A varied simulator set-up drawn from `seed`: height, view angle, lens, traffic, light, blur, trees."""
    from qgis_siammask.core.simulator import SimulationConfig

    rng = np.random.default_rng([seed, 1])
    return SimulationConfig(
        out_dir=out_dir, seed=seed, frames=frames,
        altitude_agl_m=float(rng.uniform(60.0, 220.0)),
        oblique_deg=float(rng.choice([0.0, rng.uniform(10.0, 50.0)])),
        horizontal_fov_deg=float(rng.uniform(25.0, 55.0)),
        dem=bool(rng.random() < 0.3),
        vehicle_count=int(rng.integers(2, 7)),
        motion_blur_px=float(rng.choice([0.0, rng.uniform(1.0, 4.0)])),
        noise_sigma=float(rng.uniform(0.5, 5.0)),
        occluder_count=int(rng.integers(0, 5)),
        platform_wobble_deg=float(rng.uniform(0.5, 4.0)),
    )


def simulator_clip(seed: int, frames: int, workdir: Path):
    """Frames and id masks of one simulator clip: the decoded H.264 video and the vehicle id masks."""
    from qgis_siammask.core.ingest.video import VideoReader
    from qgis_siammask.core.simulator import simulate

    result = simulate(simulation_config(seed, frames, workdir))
    with VideoReader(result.video_path) as video:
        images = [frame.image for frame in video]
    with np.load(result.masks_path) as masks:
        labels = masks["labels"]
    return images[:len(labels)], list(labels[:len(images)])


def make_dataset(out: Path, clips: int, seed: int, source: str = SOURCE_SIMULATOR, frames: int = 24,
                 progress=None) -> Path:
    """Write `clips` clips (seeds seed .. seed + clips - 1) under `out`; returns `out`."""
    out.mkdir(parents=True, exist_ok=True)
    videos = {}
    for c in range(clips):
        clip_seed = seed + c
        if source == SOURCE_SHAPES:
            clip_frames, clip_masks = shapes_clip(clip_seed, ShapesClipConfig(frames=frames))
        else:
            with tempfile.TemporaryDirectory(prefix="siammask_sim_") as workdir:
                clip_frames, clip_masks = simulator_clip(clip_seed, frames, Path(workdir))
        videos[f"{source}_{clip_seed:06d}"] = write_clip(out, f"{source}_{clip_seed:06d}", clip_frames, clip_masks)
        if progress is not None:
            progress(c + 1, clips)
    (out / "meta.json").write_text(json.dumps({"videos": videos}, indent=1))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.make_sim_dataset", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="first clip seed (clip c uses seed + c)")
    parser.add_argument("--frames", type=int, default=24, help="frames per clip")
    parser.add_argument("--source", choices=(SOURCE_SIMULATOR, SOURCE_SHAPES), default=SOURCE_SIMULATOR)
    args = parser.parse_args(argv)
    make_dataset(args.out, args.clips, args.seed, args.source, args.frames,
                 progress=lambda done, total: print(f"\rclips {done}/{total}", end="", file=sys.stderr))
    print(f"\nwrote {args.clips} clips to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
