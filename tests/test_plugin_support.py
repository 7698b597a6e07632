"""A minimal real QgisInterface for headless tests (qgis.testing.mocked needs the `mock` package).

Real Qt objects (main window, toolbar, menu, message bar, map canvas) so that what the plugin adds and
removes can be counted; imported by the other plugin tests as a helper (it holds no tests itself).
"""

from __future__ import annotations

from qgis.gui import QgsMapCanvas, QgsMessageBar
from qgis.PyQt.QtWidgets import QDockWidget, QMainWindow, QMenu, QToolBar


class StubInterface:
    def __init__(self):
        self.main_window = QMainWindow()
        self.main_window.resize(1200, 800)
        self.canvas = QgsMapCanvas(self.main_window)
        self.main_window.setCentralWidget(self.canvas)
        self.toolbar = self.main_window.addToolBar("Plugins")
        self.plugin_menu = QMenu("Plugins", self.main_window)
        self.message_bar = QgsMessageBar(self.main_window)
        self.plugin_menus: dict[str, QMenu] = {}
        self.messages: list[tuple] = []
        self.message_bar.widgetAdded.connect(self._record_message)

    def _record_message(self, _widget):
        item = self.message_bar.currentItem()
        self.messages.append((item.title(), item.text()))

    def mainWindow(self):  # noqa: N802 (QGIS API)
        return self.main_window

    def mapCanvas(self):  # noqa: N802
        return self.canvas

    def messageBar(self):  # noqa: N802
        return self.message_bar

    def addToolBarIcon(self, action):  # noqa: N802
        self.toolbar.addAction(action)

    def removeToolBarIcon(self, action):  # noqa: N802
        self.toolbar.removeAction(action)

    def addPluginToMenu(self, name, action):  # noqa: N802
        menu = self.plugin_menus.get(name) or self.plugin_menu.addMenu(name)
        self.plugin_menus[name] = menu
        menu.addAction(action)

    def removePluginMenu(self, name, action):  # noqa: N802
        menu = self.plugin_menus.get(name)
        if menu is not None:
            menu.removeAction(action)
            if not menu.actions():
                self.plugin_menu.removeAction(menu.menuAction())
                del self.plugin_menus[name]

    def addDockWidget(self, area, dock):  # noqa: N802
        self.main_window.addDockWidget(area, dock)

    def removeDockWidget(self, dock):  # noqa: N802
        self.main_window.removeDockWidget(dock)

    def docks(self) -> list[QDockWidget]:
        return [d for d in self.main_window.findChildren(QDockWidget) if d.parent() is self.main_window]

    def toolbar_actions(self) -> list:
        return list(self.toolbar.actions())

    def all_toolbars(self) -> list[QToolBar]:
        return self.main_window.findChildren(QToolBar)


# --- shared inputs for the plugin tests (computed once per session, whichever test asks first) ----
_CACHE: dict = {}


GUI_CLIP_FRAMES = 10  # frames of the dock tests' clip (conftest `clip`)


def simulated_clip(tmp_root, frames: int = 10):
    """A short simulated flight (engineer C's simulator) over three vehicles, rendered once per session.

    Returns (SimulationResult, targets): targets are (vehicle_id, (x, y, w, h) pixel box in frame 0) of
    the vehicles wholly inside the first frame, largest first.
    """
    key = ("clip", frames)
    if key not in _CACHE:
        from qgis_siammask.core.simulator import SimulationConfig, simulate

        config = SimulationConfig(
            out_dir=tmp_root / f"clip{frames}",
            seed=0,
            frames=frames,
            width_px=480,
            height_px=270,
            vehicle_count=3,
            altitude_agl_m=80.0,
        )
        result = simulate(config)
        _CACHE[key] = (result, visible_targets(result))
    return _CACHE[key]


def visible_targets(result) -> list:
    width, height = result.config.width_px, result.config.height_px
    targets = [
        (v["vehicle_id"], tuple(float(c) for c in v["box_xywh"]), v["pixels"])
        for v in result.frames[0]["vehicles"]
        if v["box_xywh"]
        and v["box_xywh"][0] > 2
        and v["box_xywh"][1] > 2
        and v["box_xywh"][0] + v["box_xywh"][2] < width - 2
        and v["box_xywh"][1] + v["box_xywh"][3] < height - 2
    ]
    return [(vehicle_id, box) for vehicle_id, box, _ in sorted(targets, key=lambda t: -t[2])]


def truth_centres(result, vehicle_id: int) -> dict:
    """Frame -> (lon, lat) of a simulated vehicle's true centre (truth.geojson)."""
    import json

    truth = json.loads(result.truth_path.read_text())
    return {
        f["properties"]["frame"]: tuple(f["geometry"]["coordinates"][:2])
        for f in truth["features"]
        if f["geometry"]["type"] == "Point" and f["properties"]["vehicle_id"] == vehicle_id
    }


def tracking_model(request) -> str:
    """The committed default model when there is one, else the seeded parity model (engineer A's fixture)."""
    from qgis_siammask.settings import default_model_path

    return default_model_path() or str(request.getfixturevalue("seeded_model_path"))
