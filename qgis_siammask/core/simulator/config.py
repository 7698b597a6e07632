"""What a simulated clip looks like (SimulationConfig) and what the simulator wrote (SimulationResult)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..definitions import GEOREF_ST0601


@dataclass(frozen=True)
class SimulationConfig:
    """Every knob of a simulated flight; the same config and seed give the same files.

    Angles in degrees, distances in metres. `oblique_deg` is the boresight's angle from nadir
    (0: the gimbal held straight down). Light, blur, noise and occluders vary the look for training
    data; None draws a value from the seed.
    """

    out_dir: Path
    seed: int = 0
    frames: int = 60
    width_px: int = 640
    height_px: int = 360
    fps: float = 25.0
    oblique_deg: float = 0.0
    dem: bool = False
    relief_m: float = 25.0  # peak-to-peak height of the generated DEM
    altitude_agl_m: float = 120.0
    horizontal_fov_deg: float = 40.0
    origin_lat_deg: float = 41.14
    origin_lon_deg: float = -104.82
    ground_height_m: float = 1850.0  # ellipsoidal height of the scene's base level
    ground_size_m: float | None = None  # None: just large enough for the view and the vehicles' travel
    ground_resolution_m: float = 0.15  # coarsened when the texture would exceed MAX_TEXTURE_PX
    platform_wobble_deg: float = 2.0  # amplitude of the platform pitch/roll oscillation
    sensor_roll_deg: float | None = None
    gimbal: str = GEOREF_ST0601  # GEOREF_HORIZON: the gimbal keeps the picture level (definitions)
    vehicle_count: int = 3
    vehicle_length_range_m: tuple[float, float] = (3.8, 7.5)
    vehicle_speed_range_mps: tuple[float, float] = (3.0, 12.0)
    vehicle_colours_bgr: tuple[tuple[int, int, int], ...] | None = None  # None: a varied palette
    sun_azimuth_deg: float | None = None
    sun_elevation_deg: float | None = None
    brightness: float | None = None  # image gain, 1 = nominal
    motion_blur_px: float = 0.0
    noise_sigma: float = 2.0
    occluder_count: int = 0  # tree crowns drawn over the road, hiding vehicles passing under them
    occluder_radius_range_m: tuple[float, float] = (2.0, 3.5)
    # Hard cases for geo-aware tracking (all off by default):
    occlude_vehicle_at_s: tuple[float, ...] = ()  # one crown on vehicle 1's path where it is at each time
    slew_deg_per_frame: float = 0.0  # gimbal slews: the boresight turns this much per frame while slewing
    slew_frames: int = 2  # frames per slew; slews alternate out and back, so the view returns
    slew_every_frames: int = 12  # a slew starts every this many frames (the first after as many)
    zoom_ratio: float = 1.0  # focal length swings smoothly between 1x and this (fields of view shrink)
    zoom_period_s: float = 2.4
    jitter_deg: float = 0.0  # boresight wobble the gimbal does not remove (pan and tilt amplitude)
    jitter_hz: float = 2.0
    start_time_us: int = 1_717_243_200_000_000  # 2024-06-01T12:00:00Z
    write_video: bool = True
    write_masks: bool = True


@dataclass(frozen=True)
class SimulationResult:
    """Paths of everything written, plus in-memory truth for tests.

    `frames`: per-frame dicts as in simulation.json (exact float telemetry under "telemetry",
    independent ray-cast truth of the centre and corners under "truth"); `telemetry`: one
    TelemetryRecord per frame (exact floats, ellipsoidal heights).
    """

    config: SimulationConfig
    out_dir: Path
    video_path: Path | None
    srt_path: Path
    texture_path: Path
    dem_path: Path | None
    truth_path: Path
    boxes_path: Path
    masks_path: Path | None
    simulation_path: Path
    crs: str
    frames: list = field(repr=False, default_factory=list)
    telemetry: list = field(repr=False, default_factory=list)
    klv_in_video: bool = False
    render_seconds: float = 0.0
