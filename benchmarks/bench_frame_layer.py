"""The video frame on the map (issue 22, item 1): what draping a 1920x1080 frame over a DEM costs, and the
player's achieved frame rate at 25 fps with and without the layer.

- Layer: per frame, the main thread's share (the frame as a QImage, the drape grid cast on the DEM) and
  the render of the layer alone into a 1000x800 map image (QgsMapRendererSequentialJob, as the canvas's
  worker thread does it).
- Player: a real VideoDock playing a simulated 1920x1080 clip at 25 fps beside a real, shown 1000x800
  map canvas that draws the clip's playback layers; the frames shown per second of wall time, with the
  "video frame" layer ticked, then unticked (nothing is cast while it is unticked).

Runs in a child process (a headless QGIS of its own). `python -m benchmarks bench_frame_layer`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTH, HEIGHT = 1920, 1080
CANVAS_SIZE = (1000, 800)
CLIP_FRAMES = int(os.environ.get("BENCH_FRAME_LAYER_FRAMES", 100))  # 4 s at 25 fps
RENDERED_FRAMES = 20
PLAY_SECONDS = 3.5


def _figures(values_s: list[float]) -> str:
    ordered = sorted(values_s)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"mean {1000 * statistics.mean(values_s):.1f} ms, p95 {1000 * p95:.1f} ms"


def _run(folder: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.testing import start_app

    app = start_app()  # a throwaway QGIS profile
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsCoordinateTransform,
        QgsMapRendererSequentialJob,
        QgsMapSettings,
        QgsProject,
        QgsRasterLayer,
    )
    from qgis.gui import QgsLayerTreeMapCanvasBridge
    from qgis.PyQt.QtCore import QSize

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_plugin_support import StubInterface

    from qgis_siammask.core.geo.camera import frame_geometry
    from qgis_siammask.core.geo.terrain import DemTerrain
    from qgis_siammask.core.ingest.telemetry import open_telemetry
    from qgis_siammask.core.ingest.video import VideoReader
    from qgis_siammask.core.simulator import SimulationConfig, simulate
    from qgis_siammask.frame_layer import DrapedFrame, FrameLayer, register_frame_layer_type
    from qgis_siammask.gui.video_dock import VideoDock
    from qgis_siammask.settings import PluginSettings, save_settings

    register_frame_layer_type()
    clip = simulate(SimulationConfig(out_dir=folder / "clip", seed=1, frames=CLIP_FRAMES, width_px=WIDTH,
                                     height_px=HEIGHT, dem=True, relief_m=40.0, oblique_deg=35.0,
                                     vehicle_count=3, write_masks=False))
    terrain = DemTerrain(clip.dem_path)
    telemetry = open_telemetry(str(clip.video_path), None)

    # --- the layer alone -------------------------------------------------------------------------
    layer = FrameLayer()
    QgsProject.instance().addMapLayer(layer)
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem(clip.crs))
    settings.setOutputSize(QSize(*CANVAS_SIZE))
    handover_s, grid_s, render_s, render_cpu_s = [], [], [], []
    with VideoReader(str(clip.video_path)) as video:
        for index in range(RENDERED_FRAMES):
            frame = video.read(index * (CLIP_FRAMES // RENDERED_FRAMES))
            camera = frame_geometry(telemetry.at(frame.time_s), WIDTH, HEIGHT, terrain=terrain)
            footprint = camera.footprint().lonlat_deg  # the dock has it from the footprint layer's update
            draped = DrapedFrame(frame.image, camera)
            started = time.perf_counter()
            draped.grid
            grid_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            layer.set_frame(frame.image, camera, footprint)
            handover_s.append(time.perf_counter() - started)
            if index == 0:
                to_map = QgsCoordinateTransform(layer.crs(), settings.destinationCrs(), QgsProject.instance())
                extent = to_map.transformBoundingBox(layer.extent())
                extent.scale(1.2)
                settings.setExtent(extent)
            started, cpu = time.perf_counter(), time.process_time()
            job = QgsMapRendererSequentialJob(settings)
            job.start()
            job.waitForFinished()
            render_s.append(time.perf_counter() - started)
            render_cpu_s.append(time.process_time() - cpu)
    rows, columns = layer.frame.grid.shape
    print(f"frame layer, {WIDTH}x{HEIGHT} frame over a DEM ({columns}x{rows} cells), "
          f"{RENDERED_FRAMES} frames:")
    print(f"  player's thread per map update (set_frame): {_figures(handover_s)}")
    print(f"  render thread: the drape grid cast on the DEM {_figures(grid_s)}")
    print(f"  all of the layer's render (grid, QImage, cells) into a {CANVAS_SIZE[0]}x{CANVAS_SIZE[1]} "
          "map image: "
          f"{_figures(render_s)} wall, {_figures(render_cpu_s)} CPU (load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores)")
    QgsProject.instance().removeMapLayer(layer.id())

    # --- the player, with and without the layer ---------------------------------------------------------
    dem_layer = QgsRasterLayer(str(clip.dem_path), "dem")
    QgsProject.instance().addMapLayer(dem_layer)
    save_settings(PluginSettings(device="cpu", dem_layer_id=dem_layer.id(),
                                 output_folder=str(folder / "out")))
    iface = StubInterface()
    bridge = QgsLayerTreeMapCanvasBridge(QgsProject.instance().layerTreeRoot(), iface.canvas)
    iface.main_window.resize(*CANVAS_SIZE)
    iface.main_window.show()
    dock = VideoDock(iface)
    dock.setFloating(True)
    dock.resize(900, 900)
    dock.show()
    dock.open_video(str(clip.video_path))
    iface.canvas.setDestinationCrs(QgsCoordinateReferenceSystem(clip.crs))
    footprint = dock.playback_layers.footprint
    extent = QgsCoordinateTransform(footprint.crs(), iface.canvas.mapSettings().destinationCrs(),
                                    QgsProject.instance()).transformBoundingBox(footprint.extent())
    extent.scale(3.0)
    iface.canvas.setExtent(extent)
    print(f"player at {dock.session.fps:.0f} fps, {WIDTH}x{HEIGHT}, DEM, map canvas "
          f"{iface.canvas.width()}x{iface.canvas.height()} drawing the playback layers:")
    for ticked in (True, False, True):
        node = QgsProject.instance().layerTreeRoot().findLayer(dock.playback_layers.frame.id())
        node.setItemVisibilityChecked(ticked)
        dock.show_frame(0, update_map=True)
        shown = []
        dock.player.frameRequested.connect(record := lambda index: shown.append(time.perf_counter()))
        dock.player.play()
        deadline = time.perf_counter() + PLAY_SECONDS
        while time.perf_counter() < deadline and dock.player.playing:
            app.processEvents()
            time.sleep(0.001)
        dock.player.pause()
        dock.player.frameRequested.disconnect(record)
        rate = (len(shown) - 1) / (shown[-1] - shown[0]) if len(shown) > 1 else 0.0
        state = "with the frame layer" if ticked else "without (unticked)  "
        print(f"  {state}: {rate:.1f} fps achieved ({len(shown)} frames in {shown[-1] - shown[0]:.2f} s; "
              f"load average {os.getloadavg()[0]:.1f})", flush=True)
    dock.shutdown()
    iface.canvas.stopRendering()
    iface.canvas.waitWhileRendering()
    del bridge
    QgsProject.instance().clear()
    print("done", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "benchmarks.bench_frame_layer", "run", folder]
        root = Path(__file__).resolve().parents[1]
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        for line in done.stdout.splitlines():
            if line.startswith(("frame layer", "  ", "player", "done")):
                print(line)
        if done.returncode:
            raise RuntimeError(f"the benchmark process failed: {done.stderr[-2000:]}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:
        _run(Path(sys.argv[2]))
    else:
        main()
