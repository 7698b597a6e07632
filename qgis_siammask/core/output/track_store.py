"""GeoPackage track store: writes each frame's ground features as it is tracked.

One SQLite transaction per frame, so a crash, a kill or a cancel leaves a valid file holding every frame
committed before it. Layers (names and fields in definitions.py): masks (MultiPolygon), boxes (Polygon),
points (Point, with speed and heading), footprints (Polygon, one per frame, with the georeferencing mode
that placed it) and lines (LineString, one per track). Track lines are rebuilt from the points in the
same transaction as the frame whenever a track has grown by 1% since its line was last written (every
frame for the first hundred points), so the work stays linear in the track length; `close()` brings
every line up to date, and so does re-opening a file in append mode, so lines in a file whose writer
died lag by at most 1% of a track.

A run is corrected by continuing it (mode "continue", `continue_tracks`): the continued tracks' features
and pixel outlines from the correction's frame on are deleted, their lines rebuilt from what is left, and
each correction recorded in the `corrections` table (no geometry); the frames' footprints already there
are kept. A continuation that ends before the run did (Stop, an earlier end frame) copies the run's
later frames of those tracks back (`keep_later_frames`).

Written with GDAL/OGR (Debian GDAL, the library QGIS itself uses), never through qgis, so it runs
headless. Errors are checked by return code: GDAL's exception mode is process-wide and must not be
switched on under the QGIS plugins sharing this interpreter.
"""
from __future__ import annotations

from pathlib import Path

from ..definitions import (
    DEFAULT_CRS,
    FIELD_BOX_PX,
    FIELD_CORRECTION_KIND,
    FIELD_FRAME,
    FIELD_GEO_FLAG,
    FIELD_GEOREF,
    FIELD_HEADING_DEG,
    FIELD_LABEL,
    FIELD_MASK_PX,
    FIELD_SCORE,
    FIELD_SPEED_MPS,
    FIELD_STATUS,
    FIELD_TIME_UTC,
    FIELD_TRACK_ID,
    FIELDS_BOX_PX,
    FIELDS_PREVIOUS_BOX_PX,
    GPKG_DRIVER,
    LAYER_BOXES,
    LAYER_CORRECTIONS,
    LAYER_FOOTPRINTS,
    LAYER_LINES,
    LAYER_MASKS,
    LAYER_OUTLINES_PX,
    LAYER_POINTS,
    STATUS_LOST,
    TRACK_LAYERS,
)
from ..errors import OutputError
from .gdal_mode import with_gdal_return_codes
from .geometry import FrameFeatures, TrackFeature
from .gpkg_format import (
    LAYER_FIELDS,
    MODE_CONTINUE,
    MODE_REPLACE,
    MODES,
    check_writable,
    get_datetime,
    set_field,
)
from .track_line import TrackLine

SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")



class TrackStore:
    """Incremental GeoPackage writer: `write_frame` per frame (one committed transaction), then `close`.

    mode "replace" deletes an existing file first; "append" adds to it (layers must be in the same CRS)
    and `next_track_id` tells the caller where its track ids should start so runs do not merge;
    "continue" appends to the same run (see `continue_tracks`), writing no second footprint of a frame.
    """

    @with_gdal_return_codes
    def __init__(self, path: str | Path, crs: str = DEFAULT_CRS, mode: str = MODE_REPLACE):
        from osgeo import ogr, osr

        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.path = check_writable(path, mode)
        self.crs = crs
        self._srs = osr.SpatialReference()
        if self._srs.SetFromUserInput(crs) != 0:
            raise OutputError(f"unknown output CRS {crs!r}", path=self.path)
        self._srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        if mode == MODE_REPLACE:
            for suffix in ("", *SQLITE_SIDE_FILES):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        if self.path.exists():
            self._ds = ogr.Open(str(self.path), 1)
        else:
            # No cached feature counts: GDAL writes them only at close, so a killed writer's file would
            # report empty layers to readers that trust them (fiona does).
            self._ds = ogr.GetDriverByName(GPKG_DRIVER).CreateDataSource(str(self.path), ["ADD_GPKG_OGR_CONTENTS=NO"])
        if self._ds is None:
            raise OutputError("cannot open the GeoPackage for writing", details=_gdal_error(), path=self.path)
        self._layers = {name: self._layer(name) for name in (*TRACK_LAYERS, LAYER_OUTLINES_PX)}
        self._tracks: dict[int, TrackLine] = {}
        self._load_existing_tracks()
        self._footprint_frames = self._frames_of(LAYER_FOOTPRINTS) if mode == MODE_CONTINUE else None
        self.frames_written = 0
        self.features_written = 0
        self._in_frame = False
        if self._tracks:
            self._transaction(lambda: self._refresh_lines(force=True))

    @property
    def next_track_id(self) -> int:
        return max(self._tracks, default=-1) + 1

    @with_gdal_return_codes
    def write_frame(self, features: FrameFeatures) -> int:
        """Write one frame's features in one committed transaction; returns the features written."""
        if self._ds is None:
            raise OutputError("the track store is closed", path=self.path)
        if features.crs != self.crs:
            raise ValueError(f"features are in {features.crs}, the store writes {self.crs}")
        written = self._transaction(lambda: self._add_frame(features))
        self.frames_written += 1
        self.features_written += written
        return written

    @with_gdal_return_codes
    def continue_tracks(self, track_ids, start_frame: int, corrections=(), time_utc=None) -> int:
        """Make way for a continuation of `track_ids` from `start_frame` (one transaction): their masks,
        boxes, points and pixel outlines at that frame and later are deleted, their lines rebuilt from what
        is left, and `corrections` (records.Correction) recorded with `time_utc`. Returns the map
        features deleted."""
        if self._ds is None:
            raise OutputError("the track store is closed", path=self.path)
        corrections_layer = self._layer(LAYER_CORRECTIONS) if corrections else None
        ids = ",".join(str(int(track_id)) for track_id in sorted(set(track_ids)))

        def cut() -> int:
            deleted = 0
            if ids:
                later = f"{FIELD_TRACK_ID} IN ({ids}) AND {FIELD_FRAME} >= {int(start_frame)}"
                for name in (LAYER_MASKS, LAYER_BOXES, LAYER_POINTS):
                    deleted += self._delete_where(name, later)
                self._delete_where(LAYER_OUTLINES_PX, later)  # the video overlays read back
                self._rebuild_lines(ids)
            for correction in corrections:
                self._write_correction(corrections_layer, correction, time_utc)
            return deleted

        return self._transaction(cut)

    @with_gdal_return_codes
    def keep_later_frames(self, source: str | Path, track_ids, after_frame: int) -> int:
        """A continuation that ended before the run did (Stop, an earlier end frame): the continued
        tracks' features after `after_frame` are copied back from the run's file `source` (one
        transaction), so a correction replaces only the frames it tracked and loses none after them;
        their lines are rebuilt. Returns the map features restored."""
        from osgeo import ogr

        if self._ds is None:
            raise OutputError("the track store is closed", path=self.path)
        ids = ",".join(str(int(track_id)) for track_id in sorted(set(track_ids)))
        source_ds = ogr.Open(str(source)) if ids else None
        if source_ds is None:
            if ids:
                raise OutputError("cannot read the run's later frames", details=_gdal_error(), path=source)
            return 0
        later = f"{FIELD_TRACK_ID} IN ({ids}) AND {FIELD_FRAME} > {int(after_frame)}"

        def restore() -> int:
            restored = 0
            for name in (LAYER_MASKS, LAYER_BOXES, LAYER_POINTS, LAYER_OUTLINES_PX):
                source_layer, target = source_ds.GetLayerByName(name), self._layers[name]
                if source_layer is None:
                    continue
                source_layer.SetAttributeFilter(later)
                for feature in source_layer:
                    copy = ogr.Feature(target.GetLayerDefn())
                    copy.SetFrom(feature)
                    copy.SetFID(-1)
                    if target.CreateFeature(copy) != 0:
                        error = _gdal_error()
                        raise OutputError(f"cannot copy back to {name}", details=error, path=self.path)
                    restored += name != LAYER_OUTLINES_PX
            self._rebuild_lines(ids)
            return restored

        try:
            return self._transaction(restore)
        finally:
            source_ds = None

    def _rebuild_lines(self, ids: str) -> None:
        """The lines of tracks `ids` ("1,3") rebuilt from their points in the file."""
        self._delete_where(LAYER_LINES, f"{FIELD_TRACK_ID} IN ({ids})")
        self._tracks = {}
        self._load_existing_tracks()
        self._refresh_lines(force=True)

    @with_gdal_return_codes
    def close(self) -> None:
        """Bring every track line up to date and close the file (idempotent)."""
        if self._ds is None:
            return
        try:
            self._transaction(lambda: self._refresh_lines(force=True))
        finally:
            self._ds.FlushCache()
            self._ds = None
            self._layers = {}

    def __enter__(self) -> "TrackStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------

    def _transaction(self, work):
        if self._ds.StartTransaction() != 0:
            raise OutputError("cannot start a GeoPackage transaction", details=_gdal_error(), path=self.path)
        try:
            result = work()
        except BaseException:
            self._ds.RollbackTransaction()
            raise
        if self._ds.CommitTransaction() != 0:
            self._ds.RollbackTransaction()
            raise OutputError(
                "cannot save the frame (disk full?); earlier frames are kept", details=_gdal_error(), path=self.path
            )
        return result

    def _add_frame(self, features: FrameFeatures) -> int:
        written = 0
        if self._footprint_frames is None or features.frame not in self._footprint_frames:
            values = {FIELD_FRAME: features.frame, FIELD_TIME_UTC: features.time_utc}
            values.update({FIELD_GEO_FLAG: features.geo_flag, FIELD_GEOREF: features.georef})
            written += self._create(LAYER_FOOTPRINTS, features.footprint, values)
        for track in features.tracks:
            attributes = _track_attributes(track)
            if track.mask is not None:
                written += self._create(LAYER_MASKS, track.mask, attributes)
            if track.box is not None:
                written += self._create(LAYER_BOXES, track.box, attributes)
            written += self._create(
                LAYER_POINTS,
                track.point,
                {**attributes, FIELD_SPEED_MPS: track.speed_mps, FIELD_HEADING_DEG: track.heading_deg},
            )
            self._create_outlines(track)
            if track.point is not None and track.status != STATUS_LOST:
                line = self._tracks.setdefault(track.track_id, TrackLine(track.track_id, track.label))
                line.add(track.frame, track.time_utc, (track.point.x, track.point.y), track.lonlat_deg)
        self._refresh_lines(force=False)
        return written

    def _create(self, layer_name: str, geometry, attributes: dict) -> int:
        from osgeo import ogr

        layer = self._layers[layer_name]
        feature = ogr.Feature(layer.GetLayerDefn())
        for name, value in attributes.items():
            set_field(feature, name, value)
        if geometry is not None:
            ogr_geometry = ogr.CreateGeometryFromWkb(geometry.wkb)
            if layer_name == LAYER_MASKS:
                ogr_geometry = ogr.ForceToMultiPolygon(ogr_geometry)
            feature.SetGeometry(ogr_geometry)
        if layer.CreateFeature(feature) != 0:
            raise OutputError(f"cannot write a feature to layer {layer_name}", details=_gdal_error(), path=self.path)
        return 1

    def _create_outlines(self, track: TrackFeature) -> None:
        """The track's pixel outlines (what the video overlays draw); not counted as a map feature."""
        if track.box_px is None:
            return
        self._create(
            LAYER_OUTLINES_PX,
            None,
            {
                FIELD_TRACK_ID: track.track_id,
                FIELD_LABEL: track.label,
                FIELD_FRAME: track.frame,
                FIELD_SCORE: track.score,
                FIELD_STATUS: track.status,
                FIELD_BOX_PX: track.box_px.wkb,
                FIELD_MASK_PX: track.mask_px.wkb if track.mask_px is not None else None,
            },
        )
    def _delete_where(self, layer_name: str, where: str) -> int:
        """Delete the features of `layer_name` matching the OGR SQL filter `where`; how many."""
        layer = self._layers[layer_name]
        layer.SetAttributeFilter(where)
        layer.ResetReading()
        fids = [feature.GetFID() for feature in layer]
        layer.SetAttributeFilter(None)
        for fid in fids:
            if layer.DeleteFeature(fid) != 0:
                raise OutputError(f"cannot delete from {layer_name}", details=_gdal_error(), path=self.path)
        return len(fids)

    def _write_correction(self, layer, correction, time_utc) -> None:
        from osgeo import ogr

        feature = ogr.Feature(layer.GetLayerDefn())
        values = {
            FIELD_TRACK_ID: correction.track_id,
            FIELD_FRAME: correction.frame,
            FIELD_TIME_UTC: time_utc,
            FIELD_CORRECTION_KIND: correction.kind,
            **dict(zip(FIELDS_BOX_PX, correction.box_xywh)),
            **dict(zip(FIELDS_PREVIOUS_BOX_PX, correction.previous_box_xywh or (None,) * 4)),
        }
        for name, value in values.items():
            set_field(feature, name, float(value) if name in FIELDS_BOX_PX and value is not None else value)
        if layer.CreateFeature(feature) != 0:
            raise OutputError("cannot record the correction", details=_gdal_error(), path=self.path)

    def _refresh_lines(self, force: bool) -> None:
        from osgeo import ogr

        layer = self._layers[LAYER_LINES]
        for line in self._tracks.values():
            if not (line.stale(force) and line.points >= 2):
                continue
            feature = layer.GetFeature(line.fid) if line.fid is not None else None
            feature = feature or ogr.Feature(layer.GetLayerDefn())
            for name, value in line.attributes().items():
                set_field(feature, name, value)
            geometry = ogr.Geometry(ogr.wkbLineString)
            for index in range(0, len(line.xy), 2):
                geometry.AddPoint_2D(line.xy[index], line.xy[index + 1])
            feature.SetGeometry(geometry)
            status = layer.SetFeature(feature) if line.fid is not None else layer.CreateFeature(feature)
            if status != 0:
                raise OutputError("cannot write a track line", details=_gdal_error(), path=self.path)
            line.fid = feature.GetFID()
            line.written_points = line.points

    # --- opening -------------------------------------------------------------------------------

    def _layer(self, name: str):
        from osgeo import ogr

        field_types = {
            "int": ogr.OFTInteger, "real": ogr.OFTReal, "str": ogr.OFTString, "datetime": ogr.OFTDateTime,
            "binary": ogr.OFTBinary,
        }
        layer = self._ds.GetLayerByName(name)
        if layer is not None:
            existing = layer.GetSpatialRef()
            if existing is not None and not existing.IsSame(self._srs):
                raise OutputError(
                    f"cannot append: layer {name} is in {existing.GetName()}, not {self.crs}", path=self.path
                )
            definition = layer.GetLayerDefn()
            for spec in LAYER_FIELDS[name]:  # a file from an older version lacks the newer fields
                if definition.GetFieldIndex(spec.name) < 0 and layer.CreateField(
                        ogr.FieldDefn(spec.name, field_types[spec.kind])) != 0:
                    raise OutputError(f"cannot append: cannot add field {spec.name} to layer {name}",
                                      details=_gdal_error(), path=self.path)
            return layer
        geometry_type = {
            LAYER_OUTLINES_PX: ogr.wkbNone,
            LAYER_MASKS: ogr.wkbMultiPolygon,
            LAYER_BOXES: ogr.wkbPolygon,
            LAYER_POINTS: ogr.wkbPoint,
            LAYER_LINES: ogr.wkbLineString,
            LAYER_FOOTPRINTS: ogr.wkbPolygon,
            LAYER_CORRECTIONS: ogr.wkbNone,  # a table
        }[name]
        spatial = geometry_type != ogr.wkbNone
        layer = self._ds.CreateLayer(
            name, self._srs if spatial else None, geometry_type, ["SPATIAL_INDEX=YES"] if spatial else []
        )
        if layer is None:
            raise OutputError(f"cannot create layer {name}", details=_gdal_error(), path=self.path)
        for spec in LAYER_FIELDS[name]:
            layer.CreateField(ogr.FieldDefn(spec.name, field_types[spec.kind]))
        # Create the table and its R-tree now, not at close as GDAL defers them, so the file is complete
        # after every committed frame.
        if layer.SyncToDisk() != 0:
            raise OutputError(f"cannot create layer {name}", details=_gdal_error(), path=self.path)
        if not spatial:  # read back by frame range (frame_reader)
            self._ds.ExecuteSQL(f'CREATE INDEX "{name}_{FIELD_FRAME}" ON "{name}" ("{FIELD_FRAME}")')
        return layer

    def _frames_of(self, layer_name: str) -> set[int]:
        layer = self._layers[layer_name]
        layer.ResetReading()
        return {feature.GetField(FIELD_FRAME) for feature in layer}

    def _load_existing_tracks(self) -> None:
        """Rebuild the in-memory lines from an appended file's points (and find their line features)."""
        points = self._layers[LAYER_POINTS]
        if points.GetFeatureCount() == 0:
            return
        from pyproj import Transformer

        to_lonlat = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        rows = []
        points.ResetReading()
        for feature in points:
            geometry = feature.GetGeometryRef()
            if geometry is None or feature.GetField(FIELD_STATUS) == STATUS_LOST:
                continue
            x, y = geometry.GetX(), geometry.GetY()
            rows.append(
                (
                    feature.GetField(FIELD_TRACK_ID),
                    feature.GetField(FIELD_FRAME),
                    feature.GetField(FIELD_LABEL) or "",
                    get_datetime(feature, FIELD_TIME_UTC),
                    (x, y),
                    to_lonlat.transform(x, y),
                )
            )
        for track_id, frame, label, time_utc, xy, lonlat in sorted(rows, key=lambda row: (row[0], row[1])):
            self._tracks.setdefault(track_id, TrackLine(track_id, label)).add(frame, time_utc, xy, lonlat)
        lines = self._layers[LAYER_LINES]
        lines.ResetReading()
        for feature in lines:
            line = self._tracks.get(feature.GetField(FIELD_TRACK_ID))
            if line is not None:
                line.fid = feature.GetFID()


def _track_attributes(track: TrackFeature) -> dict:
    return {
        FIELD_TRACK_ID: track.track_id,
        FIELD_LABEL: track.label,
        FIELD_FRAME: track.frame,
        FIELD_TIME_UTC: track.time_utc,
        FIELD_SCORE: track.score,
        FIELD_STATUS: track.status,
        FIELD_GEO_FLAG: track.geo_flag,
    }


def _gdal_error() -> str:
    from osgeo import gdal

    return gdal.GetLastErrorMsg()
