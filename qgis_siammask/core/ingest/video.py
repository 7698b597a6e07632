"""Video frames in process with PyAV (no ffmpeg executable): MPEG-TS, MP4, AVI, or a folder of images.

Every frame comes with its index, its presentation time stamp and its time in seconds on the video
timeline, which starts at 0 at the video stream's first PTS. KLV packets are placed on the same
timeline by `qgis_siammask.core.ingest.telemetry` (see `VideoReader.start_time_s`), so frame i and the
telemetry valid at `frame.time_s` are in sync whatever the container's clock origin.

Writing KLV beside video (for a simulator) with PyAV 18 (tested in tests/test_telemetry.py):
    out = av.open("clip.ts", "w", format="mpegts")
    video = out.add_stream("libx264", rate=30); data = out.add_data_stream("klv")
    packet = av.Packet(encode_st0601(record)); packet.stream = data
    packet.time_base = Fraction(1, 90000)  # data.time_base is None until the header is written
    packet.pts = packet.dts = round(frame_time_s * 90000); out.mux(packet)
The mpegts muxer writes it as a `klv` data stream, which `telemetry.open_telemetry` finds again and
places on the same timeline as the frames.
"""
from __future__ import annotations

import itertools
import re
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputFileError, VideoError
from ..records import VideoFrame

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
DEFAULT_FOLDER_FPS = 25.0


def _natural_key(path: Path) -> list:
    """frame_9.png before frame_10.png: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


MAX_DEMUX_RESTARTS = 3
MAX_FRAME_GAP_S = 5.0  # longest run of lost frames a PTS may skip over in frame numbering


def demux_resilient(container, streams) -> Iterator:
    """`container.demux(streams)` that survives damage: when the demuxer fails (FFmpeg error, or
    PyAV's IndexError on a packet of a stream that appeared mid-file) it is restarted from the current
    file position; after MAX_DEMUX_RESTARTS failures in a row without a packet it ends."""
    import av

    failures = 0
    while failures < MAX_DEMUX_RESTARTS:
        try:
            for packet in container.demux(streams):
                failures = 0
                yield packet
            return
        except (av.error.FFmpegError, IndexError):
            failures += 1


class VideoReader:
    """Frames of one video (file or image folder); use as a context manager.

    Sequential reads (iteration, or `read(i)` then `read(i + 1)`) decode straight on; any other read
    seeks to the nearest earlier key frame and decodes forward to the frame asked for.
    """

    def __init__(self, path: str | Path, folder_fps: float = DEFAULT_FOLDER_FPS):
        self.path = Path(path)
        self._container = None
        self._images: list[Path] | None = None
        self._decoder: Iterator | None = None
        self._next_index = 0
        self._skip_before = -1
        self.corrupt_packets = 0  # video packets the decoder rejected and that were skipped
        if self.path.is_dir():
            self._open_folder(folder_fps)
        elif self.path.is_file():
            self._open_container()
        else:
            raise InputFileError("no such video file or folder", path=self.path)

    # --- opening ----------------------------------------------------------------------------------
    def _open_folder(self, fps: float) -> None:
        images = sorted((p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
        if not images:
            raise InputFileError("folder holds no images (png, jpg, tif, bmp)", path=self.path)
        self._images = images
        first = self._read_image(0)
        self.height, self.width = first.shape[:2]
        self.fps = float(fps)
        self.frame_count = len(images)
        self.duration_s = self.frame_count / self.fps
        self.start_time_s = 0.0
        self.time_base = None

    def _open_container(self) -> None:
        import av

        try:
            self._container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as error:
            raise InputFileError("not a readable video file", details=str(error), path=self.path) from error
        if not self._container.streams.video:
            self.close()
            raise VideoError("the file holds no video stream", path=self.path)
        stream = self._container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        self._stream = stream
        self.width = stream.codec_context.width
        self.height = stream.codec_context.height
        rate = stream.average_rate or stream.guessed_rate or Fraction(DEFAULT_FOLDER_FPS)
        self.fps = float(rate)
        self.time_base = stream.time_base
        start_pts = stream.start_time or 0
        self._start_pts = start_pts
        self.start_time_s = float(start_pts * stream.time_base) if stream.time_base else 0.0
        if stream.duration and stream.time_base:
            self.duration_s = float(stream.duration * stream.time_base)
        elif self._container.duration:
            self.duration_s = self._container.duration / 1e6
        else:
            self.duration_s = 0.0
        self.frame_count = int(stream.frames) or int(round(self.duration_s * self.fps))

    # --- reading ----------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[VideoFrame]:
        frame = self.read(0)
        while frame is not None:
            yield frame
            frame = self._read_sequential(frame.index + 1)

    def __len__(self) -> int:
        return self.frame_count

    def read(self, index: int) -> VideoFrame | None:
        """Frame number `index` (0-based), or None past the end."""
        if index < 0:
            raise VideoError(f"frame index {index} is negative", path=self.path)
        if self._images is not None:
            if index >= len(self._images):
                return None
            return VideoFrame(index, None, index / self.fps, self._read_image(index))
        if self._decoder is None or index != self._next_index:
            self._seek(index)
        return self._read_sequential(index)

    def read_at_time(self, time_s: float) -> VideoFrame | None:
        """The frame shown at `time_s` seconds on the video timeline (the last one starting at or before)."""
        return self.read(max(0, int(np.floor(time_s * self.fps + 1e-6))))

    def _read_sequential(self, index: int) -> VideoFrame | None:
        """The next decoded frame, numbered `index` unless its PTS says it comes later (frames lost to
        corruption are skipped, not renumbered); after a seek, frames before the target are passed."""
        if self._images is not None:
            return self.read(index)
        if self._decoder is None:
            self._seek(index)
        for frame in self._decoder:
            pts_index = self._index_of(frame)
            if pts_index < self._skip_before:
                continue
            self._skip_before = -1
            # trust the PTS for a gap of lost frames, not for a jump (a corrupt PTS) or a step back
            label = pts_index if index <= pts_index <= index + MAX_FRAME_GAP_S * self.fps else index
            self._next_index = label + 1
            pts = frame.pts
            time_s = float((pts - self._start_pts) * self.time_base) if pts is not None else label / self.fps
            return VideoFrame(label, pts, time_s, frame.to_ndarray(format="bgr24"))
        self._decoder = None
        return None

    def _decoded_frames(self) -> Iterator:
        """Frames of the video stream from the current position; a packet the decoder rejects
        (corrupt data) is skipped and counted in `corrupt_packets`, damage in the container ends it."""
        import av

        for packet in demux_resilient(self._container, self._stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                self.corrupt_packets += 1
                continue
            yield from frames

    def _index_of(self, frame) -> int:
        if frame.pts is None:
            return self._next_index
        return int(round(float((frame.pts - self._start_pts) * self.time_base) * self.fps))

    def _seek(self, index: int) -> None:
        """Position the decoder at or before frame `index`.

        MPEG-TS seeking in FFmpeg may land on the key frame *after* the target, so the first frame is
        checked and the seek repeated further back (doubling the margin) until it lands at or before.
        """
        import av

        target_pts = self._start_pts + int(round(index / self.fps / self.time_base))
        margin_pts = 0
        one_second_pts = max(1, int(round(1 / self.time_base)))
        while True:
            seek_pts = target_pts - margin_pts
            try:
                if seek_pts <= self._start_pts:
                    self._container.seek(0)  # the file's start, whatever its clock origin
                else:
                    self._container.seek(seek_pts, stream=self._stream, backward=True, any_frame=False)
                decoder = self._decoded_frames()
                first = next(decoder, None)
            except av.error.FFmpegError as error:
                raise VideoError(f"cannot seek to frame {index}", details=str(error), path=self.path) from error
            if seek_pts <= self._start_pts or (first is not None and self._index_of(first) <= index):
                break
            margin_pts = max(2 * margin_pts, one_second_pts)
        self._decoder = itertools.chain([first] if first is not None else [], decoder)
        self._next_index = index
        self._skip_before = index

    def _read_image(self, index: int) -> np.ndarray:
        import cv2

        image = cv2.imread(str(self._images[index]), cv2.IMREAD_COLOR)
        if image is None:
            raise VideoError("unreadable image", path=self._images[index])
        return image

    # --- lifetime ---------------------------------------------------------------------------------
    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._decoder = None

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
