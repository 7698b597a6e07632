"""Constants shared across the engine and the plugin: field names, layer names, statuses, tags.

Keep every name that crosses a module boundary (a GeoPackage field, a layer name, a KLV tag) here, so
the writer and the reader of a thing can never disagree on its spelling.
"""
from __future__ import annotations

PLUGIN_NAME = "SiamMask FMV Tracker"

# --- Track status ------------------------------------------------------------------------------
STATUS_TRACKING = "tracking"
STATUS_LOST = "lost"

# --- Network arithmetic (SiamMaskTracker precision) -------------------------------------------------
PRECISION_FP32 = "fp32"  # default: matches the authors' code within the parity tolerances
PRECISION_BF16 = "bf16"  # CPU with AVX512-BF16/AMX, or CUDA: about twice as fast, scores differ
PRECISION_FP16 = "fp16"  # CUDA only
PRECISION_TF32 = "tf32"  # CUDA only: fp32 tensors, TF32 tensor-core convolutions (fp32 keeps TF32 off)
# Appended, never reordered: the Processing algorithm stores the choice as an index into this tuple.
PRECISIONS = (PRECISION_FP32, PRECISION_BF16, PRECISION_FP16, PRECISION_TF32)
DEVICES = ("auto", "cuda", "cpu")  # auto: CUDA where torch sees a device, else the CPU
DEFAULT_SCORE_THRESHOLD = 0.3  # a target scoring under it is weak (lost after several weak frames)

# --- Output fields (GeoPackage layers, QGIS memory layers, JSONL results) ----------------------
FIELD_TRACK_ID = "track_id"
FIELD_LABEL = "label"
FIELD_FRAME = "frame"
FIELD_TIME_UTC = "time_utc"
FIELD_SCORE = "score"
FIELD_STATUS = "status"
FIELD_SPEED_MPS = "speed_mps"
FIELD_HEADING_DEG = "heading_deg"

# --- Output layers -----------------------------------------------------------------------------
LAYER_MASKS = "masks"
LAYER_BOXES = "boxes"
LAYER_POINTS = "points"
LAYER_LINES = "lines"
LAYER_FOOTPRINTS = "footprints"
TRACK_LAYERS = (LAYER_MASKS, LAYER_BOXES, LAYER_POINTS, LAYER_LINES, LAYER_FOOTPRINTS)
# attribute table (no map geometry): each track's rotated box and mask outline in frame pixels, per frame,
# so the video overlays of any frame can be read back from the file instead of being kept in memory
LAYER_OUTLINES_PX = "outlines_px"
FIELD_BOX_PX = "box_px"  # WKB polygon, frame pixels (x, y)
FIELD_MASK_PX = "mask_px"  # WKB (multi)polygon, frame pixels; null without a mask
# the dock's memory, bounded whatever the video's length (core/output/frame_reader.py, layers.py)
OVERLAY_CACHE_FRAMES = 250  # tracked frames' overlays kept in memory; the others are read from the file
OVERLAY_READ_CHUNK_FRAMES = 25  # a frame missing from memory is read with its aligned chunk of frames
OVERLAY_READ_TIMEOUT_S = 5.0  # a read waits this long for the task's thread to commit a frame
LIVE_LAYER_WINDOW_FRAMES = 250  # while a run goes on, its map layers hold its newest frames only

DEFAULT_CRS = "EPSG:4326"

# --- Telemetry sources -------------------------------------------------------------------------
SOURCE_KLV = "klv"
SOURCE_SRT = "srt"
SOURCE_CSV = "csv"
ALTITUDE_MSL = "MSL"
ALTITUDE_HAE = "HAE"

# --- Outputs: ground features and the GeoPackage track store (engineer D) ---------------------
FIELD_FIRST_FRAME = "first_frame"
FIELD_LAST_FRAME = "last_frame"
FIELD_START_UTC = "start_utc"
FIELD_END_UTC = "end_utc"
FIELD_POINT_COUNT = "points"
FIELD_LENGTH_M = "length_m"
FIELD_GEO_FLAG = "geo_flag"  # why a feature's geometry is partial or missing; empty when exact
GEO_FLAG_NO_CAMERA = "no_camera"  # the frame's telemetry could not define a camera model
GEO_FLAG_PARTIAL = "partial"  # some outline vertices looked above the horizon and were dropped
GEO_FLAG_OFF_GROUND = "off_ground"  # too few vertices reached the ground to make a geometry
GEO_FLAG_COASTED = "coasted"  # the target was lost: the position is the telemetry's prediction, not seen
GPKG_DRIVER = "GPKG"
# the analyst's corrections of a run (a track re-seated, a target added mid-clip): a table, no geometry
LAYER_CORRECTIONS = "corrections"
FIELD_CORRECTION_KIND = "kind"
CORRECTION_RESEAT = "reseat"  # a track's box drawn again on a frame: same id, tracked on from there
CORRECTION_ADD = "add"  # a new target from a frame in the middle of the run
FIELDS_BOX_PX = ("x_px", "y_px", "width_px", "height_px")  # the new pixel box of a correction
FIELDS_PREVIOUS_BOX_PX = ("previous_x_px", "previous_y_px", "previous_width_px", "previous_height_px")

# --- Geo-aware tracking (core/tracking/guidance.py) -------------------------------------------------
GUIDANCE_MAX_COAST_S = 3.0  # a lost target's predicted ground position moves on this long, then stays
GUIDANCE_VELOCITY_BASELINE_S = 1.0  # ground velocity from the confident positions over this time
DEFAULT_OBJECT_SIZE_M = (4.5, 1.9)  # one-click start: a car's length and width on the ground

# --- Tracker: TorchScript model file (engineer A) ---------------------------------------------
MODEL_METADATA_FILE = "siammask.json"  # extra file inside the TorchScript file or torch.export archive
# the start of the warning torch 2.9+ gives on every torch.jit.load (a regular expression; a
# DeprecationWarning in 2.13, a FutureWarning, which Python always shows, in 2.14), and on script and save
JIT_LOAD_DEPRECATION = r"`torch\.jit\.load` is deprecated"
JIT_EXPORT_DEPRECATION = r"`torch\.jit\.(script|save)` is deprecated"
MODEL_FORMAT_VERSION = 1
# A model file is TorchScript (`.pt`, torch.jit.load: every torch 1.13+) or, with this suffix, a torch.export
# archive (`torch.export.save`'s format, one program per entry point: it needs torch >= EXPORT_MIN_TORCH,
# the first with archives of several programs, and a torch as new as the one that wrote it).
MODEL_EXPORT_SUFFIX = ".pt2"
EXPORT_MIN_TORCH = "2.8"

JOB_SUCCESS = "success"  # TrackingJob outcomes (pipeline.JobResult.status)
JOB_FAILED = "failed"
JOB_CANCELLED = "cancelled"

# --- Geo: camera model, terrain, simulator (engineer C) ----------------------------------------
WGS84_A_M = 6378137.0  # semi-major axis
WGS84_F = 1.0 / 298.257223563  # flattening
MAX_GROUND_RANGE_M = 100_000.0  # rays meeting the ground farther than this are flagged, not used
DRAPE_GRID_FLAT = (8, 5)  # (columns, rows) of cells of the frame draped on the map over flat ground
DRAPE_GRID_DEM = (16, 9)  # ... over a DEM: each cell a facet of the relief
FRAME_LAYER_TYPE = "siammask_video_frame"  # the plugin layer type of the frame draped on the map
SNAPSHOT_MAX_SIDE_PX = 4096  # a georeferenced snapshot's longer side at most (its pixel grows instead)
SNAPSHOT_TEXT_KEY = "siammask_telemetry"  # the PNG text chunk holding a snapshot's telemetry (JSON)
DEM_VERTICAL_DATUM_TAG = "VERTICAL_DATUM"  # GeoTIFF metadata item naming a DEM's height reference
# Camera-model flags (CameraModel.flags): why a camera is less exact than its telemetry suggests.
CAMERA_FLAG_GEOID_UNKNOWN = "geoid_unknown"  # MSL heights used as ellipsoidal (no EGM96 grid)
CAMERA_FLAG_GROUND_HEIGHT_ASSUMED = "ground_height_assumed"  # no frame-centre elevation: flat at 0 m
CAMERA_FLAG_ATTITUDE_DEFAULTED = "attitude_defaulted"  # missing platform pitch/roll or sensor roll taken as 0
CAMERA_FLAG_VFOV_DERIVED = "vfov_derived"  # vertical FOV from the horizontal one and square pixels
CAMERA_FLAG_CORNER_HOMOGRAPHY = "corner_homography"  # attitude unusable: homography from reported corners
# How a frame is put on the ground (chosen per project; TrackingJob.georef, the footprints' `georef`).
GEOREF_ST0601 = "st0601"  # the MISB ST 0601 camera model: platform then sensor angles (the default)
GEOREF_HORIZON = "horizon"  # a horizon-level gimbal: the same boresight, image roll from tag 20 alone
GEOREF_CORNERS = "corners"  # the corners the telemetry reports (tags 26-33 or 82-89), by homography
# Appended, never reordered: the Processing algorithm stores the choice as an index into this tuple.
GEOREF_MODES = (GEOREF_ST0601, GEOREF_HORIZON, GEOREF_CORNERS)
GEOREF_LABELS = {  # what the analyst reads (the plugin translates them)
    GEOREF_ST0601: "ST 0601 camera model",
    GEOREF_HORIZON: "Horizon-level gimbal",
    GEOREF_CORNERS: "Reported corners",
}
GEOREF_SHORT_LABELS = {  # in layer names, which the Layers panel cuts short
    GEOREF_ST0601: "ST 0601",
    GEOREF_HORIZON: "horizon",
    GEOREF_CORNERS: "corners",
}
SIMULATOR_GIMBALS = (GEOREF_ST0601, GEOREF_HORIZON)  # how a simulated gimbal turns the picture
FIELD_GEOREF = "georef"  # footprints: the georeferencing mode that placed the frame
FIELD_TIME_S = "time_s"  # digitised features: seconds into the clip of the frame they were clicked on
DIGITISE_PIXEL_SIGMA = 1.0  # pixels a vertex clicked on the video is off by (one sigma): the measures' uncertainty
SIMULATION_JSON = "simulation.json"
SIMULATION_VIDEO = "video.ts"
SIMULATION_SRT = "video.srt"
SIMULATION_TEXTURE = "ground.tif"
SIMULATION_DEM = "dem.tif"
SIMULATION_TRUTH = "truth.geojson"
SIMULATION_BOXES = "boxes.jsonl"
SIMULATION_MASKS = "masks.npz"

# --- KLV (MISB ST 0601 UAS Datalink Local Set) (engineer B: ingest) ----------------------------
SMPTE_UL_PREFIX = bytes.fromhex("060E2B34")  # first 4 bytes of every SMPTE universal label key
UAS_LOCAL_SET_KEY = bytes.fromhex("060E2B34020B01010E01030101000000")
KLV_CODEC_NAME = "klv"  # FFmpeg's codec name for KLV data streams (stream type 0x06 + KLVA, or 0x15)
ST0601_VERSION_WRITTEN = 17
ST0601_TAG_NAMES = {
    1: "checksum", 2: "precision_time_stamp", 3: "mission_id", 4: "platform_tail_number",
    5: "platform_heading", 6: "platform_pitch", 7: "platform_roll", 8: "platform_true_airspeed",
    9: "platform_indicated_airspeed", 10: "platform_designation", 11: "image_source_sensor",
    12: "image_coordinate_system", 13: "sensor_latitude", 14: "sensor_longitude",
    15: "sensor_true_altitude", 16: "sensor_horizontal_fov", 17: "sensor_vertical_fov",
    18: "sensor_relative_azimuth", 19: "sensor_relative_elevation", 20: "sensor_relative_roll",
    21: "slant_range", 22: "target_width", 23: "frame_center_latitude", 24: "frame_center_longitude",
    25: "frame_center_elevation", 26: "offset_corner_latitude_1", 27: "offset_corner_longitude_1",
    28: "offset_corner_latitude_2", 29: "offset_corner_longitude_2", 30: "offset_corner_latitude_3",
    31: "offset_corner_longitude_3", 32: "offset_corner_latitude_4", 33: "offset_corner_longitude_4",
    34: "icing_detected", 35: "wind_direction", 36: "wind_speed", 37: "static_pressure",
    38: "density_altitude", 39: "outside_air_temperature", 40: "target_location_latitude",
    41: "target_location_longitude", 42: "target_location_elevation", 43: "target_track_gate_width",
    44: "target_track_gate_height", 45: "target_error_estimate_ce90", 46: "target_error_estimate_le90",
    47: "generic_flag_data", 48: "security_local_set", 49: "differential_pressure",
    50: "platform_angle_of_attack", 51: "platform_vertical_speed", 52: "platform_sideslip_angle",
    53: "airfield_barometric_pressure", 54: "airfield_elevation", 55: "relative_humidity",
    56: "platform_ground_speed", 57: "ground_range", 58: "platform_fuel_remaining",
    59: "platform_call_sign", 60: "weapon_load", 61: "weapon_fired", 62: "laser_prf_code",
    63: "sensor_fov_name", 64: "platform_magnetic_heading", 65: "uas_ls_version",
    67: "alternate_platform_latitude", 68: "alternate_platform_longitude",
    69: "alternate_platform_altitude", 70: "alternate_platform_name", 71: "alternate_platform_heading",
    72: "event_start_time", 73: "rvt_local_set", 74: "vmti_local_set", 75: "sensor_ellipsoid_height",
    76: "alternate_platform_ellipsoid_height", 77: "operational_mode", 78: "frame_center_hae",
    79: "sensor_north_velocity", 80: "sensor_east_velocity", 81: "image_horizon_pixel_pack",
    82: "corner_latitude_1", 83: "corner_longitude_1", 84: "corner_latitude_2",
    85: "corner_longitude_2", 86: "corner_latitude_3", 87: "corner_longitude_3",
    88: "corner_latitude_4", 89: "corner_longitude_4", 90: "platform_pitch_full",
    91: "platform_roll_full", 92: "platform_angle_of_attack_full", 93: "platform_sideslip_angle_full",
    94: "miis_core_identifier", 95: "sar_motion_imagery_local_set", 96: "target_width_extended",
    103: "density_altitude_extended", 104: "sensor_ellipsoid_height_extended",
    105: "alternate_platform_ellipsoid_height_extended", 112: "platform_course_angle",
    113: "altitude_agl", 114: "radar_altimeter",
}
KLV_TAG_CHECKSUM = 1
KLV_TAG_TIME_STAMP = 2
KLV_TAG_MISSION_ID = 3
KLV_TAG_PLATFORM_HEADING = 5
KLV_TAG_PLATFORM_PITCH = 6
KLV_TAG_PLATFORM_ROLL = 7
KLV_TAG_SENSOR_LATITUDE = 13
KLV_TAG_SENSOR_LONGITUDE = 14
KLV_TAG_SENSOR_TRUE_ALTITUDE = 15
KLV_TAG_HORIZONTAL_FOV = 16
KLV_TAG_VERTICAL_FOV = 17
KLV_TAG_SENSOR_RELATIVE_AZIMUTH = 18
KLV_TAG_SENSOR_RELATIVE_ELEVATION = 19
KLV_TAG_SENSOR_RELATIVE_ROLL = 20
KLV_TAG_SLANT_RANGE = 21
KLV_TAG_TARGET_WIDTH = 22
KLV_TAG_FRAME_CENTER_LATITUDE = 23
KLV_TAG_FRAME_CENTER_LONGITUDE = 24
KLV_TAG_FRAME_CENTER_ELEVATION = 25
KLV_TAGS_OFFSET_CORNERS = (26, 27, 28, 29, 30, 31, 32, 33)  # lat, lon per corner UL, UR, LR, LL
KLV_TAG_SECURITY_LOCAL_SET = 48
KLV_TAG_VERSION = 65
KLV_TAG_VMTI_LOCAL_SET = 74
KLV_TAG_SENSOR_ELLIPSOID_HEIGHT = 75
KLV_TAG_FRAME_CENTER_HAE = 78
KLV_TAGS_FULL_CORNERS = (82, 83, 84, 85, 86, 87, 88, 89)  # lat, lon per corner UL, UR, LR, LL
KLV_TAG_PLATFORM_PITCH_FULL = 90
KLV_TAG_PLATFORM_ROLL_FULL = 91
KLV_TAG_TARGET_WIDTH_EXTENDED = 96
KLV_TAG_SENSOR_ELLIPSOID_HEIGHT_EXTENDED = 104
ALTITUDE_TAKEOFF = "takeoff"  # height above the take-off point (DJI SRT without an absolute altitude)

# --- Bad input: limits past which a telemetry value is dropped; partial outputs -------------------
# Time stamps (microseconds since the Unix epoch) outside 1990-01-01 .. 2100-01-01 UTC are dropped as
# out of range (a plausible window for recorded flights): a stray one would shift every record's time.
PLAUSIBLE_TIMESTAMP_MIN_US = 631_152_000_000_000
PLAUSIBLE_TIMESTAMP_MAX_US = 4_102_444_800_000_000
KLV_MAX_INTEGER_BYTES = 8  # ST 0601 integer tags (time stamps, speeds, flags) are 1-8 bytes
KLV_MAX_IMAPB_BYTES = 8  # ST 1201 values longer than a float64's precision are not coded by any tag
KLV_MAX_TAG_BYTES = 4  # BER-OID tag bytes (28 bits); ST 0601 tags need 2 at most
PARTIAL_OUTPUT_INFIX = ".partial"  # NAME.ext is written as NAME.partial.ext, renamed when finished

# --- Model files: catalogue, downloads, the user's model folder (issue 11) ---------------------
MODEL_DIR_ENV = "SIAMMASK_MODEL_DIR"  # headless: overrides the default model folder
DEFAULT_MODEL_DIR = "~/.local/share/qgis-siammask/models"  # headless default ($XDG_DATA_HOME respected)
QGIS_MODEL_SUBDIR = "siammask/models"  # in QGIS: under the profile folder (survives plugin upgrades)
PARTIAL_DOWNLOAD_SUFFIX = ".part"  # a download in progress; never listed, resumed where the server allows
MODEL_SOURCE_BUNDLED = "bundled"  # InstalledModel.source of the demo model shipped with the plugin
DEFAULT_REAL_VIDEO_MODEL = "siammask-davis"  # the catalogue entry offered for real footage

# --- Batch tracking over many videos on Dask (core/batch) ----------------------------------------
BATCH_STATUS_DONE = "done"  # summary.csv status per job
BATCH_STATUS_FAILED = "failed"
BATCH_STATUS_SKIPPED = "skipped"  # finished by an earlier run with the same job parameters
BATCH_SUMMARY_FILE = "summary.csv"
BATCH_SUMMARY_FIELDS = ("name", "video", "status", "frames_tracked", "seconds", "message", "worker")
BATCH_JOB_RECORD_SUFFIX = ".job.json"  # DIR/NAME.job.json beside DIR/NAME.gpkg: the job that made it
BATCH_JOB_FIELDS = ("name", "video", "telemetry", "boxes", "labels", "start_frame", "end_frame", "dem", "georef")
BATCH_FRAMES_TOPIC = "siammask-batch-frames"  # Dask event topic: frames tracked, worker -> client
BATCH_FRAMES_INTERVAL_S = 0.5  # a worker reports its frames at most this often (and on its first frame)
BATCH_CANCEL_POLL_S = 0.5  # how often a running batch asks its caller whether it was cancelled
BATCH_TRACKER_PLUGIN = "siammask-trackers"  # Dask worker plugin keeping loaded trackers per worker

# QGIS plugin: where it keeps things in a project (entries of `QgsProject.writeEntry`, layer tree
# custom properties); the layer tree nodes themselves are never held, only found by these.
PROJECT_SCOPE = "qgis_siammask"
PROJECT_ENTRY_DEM_LAYER = "dem_layer_id"
PROJECT_ENTRY_OUTPUT_CRS = "output_crs"
PROJECT_ENTRY_OUTPUT_FOLDER = "output_folder"
PROJECT_ENTRY_GEOREF = "georef"
GROUP_KEY_PROPERTY = "qgis_siammask/group_key"
PLAYBACK_LAYER_PROPERTY = "qgis_siammask/playback"  # on the playback layers (saved with a project)
OUTPUT_SUBFOLDER = "siammask_tracks"  # beside the saved project, or in the settings' default folder
PYTHON_PROBE_TIMEOUT_S = 10.0  # the dependencies check runs a candidate interpreter to read its version

# Pixel-only runs (a video without telemetry, tracked in QGIS): the `track` command's JSON lines, and
# the columns of their CSV export (box in pixels, top-left x, y)
PIXEL_RESULTS_SUFFIX = ".jsonl"
PIXEL_CSV_COLUMNS = (
    FIELD_FRAME, FIELD_TRACK_ID, FIELD_LABEL, "x", "y", "width", "height", FIELD_SCORE, FIELD_STATUS
)
