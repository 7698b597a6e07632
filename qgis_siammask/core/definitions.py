"""Constants shared across the engine and the plugin: field names, layer names, statuses, tags.

Keep every name that crosses a module boundary (a GeoPackage field, a layer name, a KLV tag) here, so
the writer and the reader of a thing can never disagree on its spelling.
"""
from __future__ import annotations

PLUGIN_NAME = "SiamMask FMV Tracker"

# --- Track status ------------------------------------------------------------------------------
STATUS_TRACKING = "tracking"
STATUS_LOST = "lost"

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
GPKG_DRIVER = "GPKG"
JOB_SUCCESS = "success"  # TrackingJob outcomes (pipeline.JobResult.status)
JOB_FAILED = "failed"
JOB_CANCELLED = "cancelled"
