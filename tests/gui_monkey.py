"""The randomized GUI tester's hands and eyes: one action of a user as Qt events on the real widgets of the
loaded plugin (its video dock, tracks panel, buttons), and the checks made after every action.

An action is a JSON-able list `[kind, *parameters]`, every parameter drawn in advance (by
`gui_monkey_campaign.generate`), so that a sequence replays as it ran and shrinks by dropping actions.
QGIS's API is used only where the user would use QGIS's own UI: moving or removing a group or a layer in
the Layers panel (clone, insert, remove: what a drag does), File > New Project
(`QgsProject.instance().clear()`), File > Save As and Open (`write`, `read`), the plugin manager
unloading and loading the plugin. File dialogs answer with the path the user would pick; message boxes
and the colour dialog are answered by clicks.

The checks (a `Failure` each): no exception reached Qt (sys.excepthook, threading.excepthook) or failed a
run as an "unexpected error", nothing from a Python error or our plugin at Critical level in the QGIS
message log, no task outlives its bound (a hang), every finished run's GeoPackage opens with per-track
point counts that never go down except by the user's Delete track, every frame the dock was told was
tracked is in the file (else lost frames), no `.partial` file beside a run that succeeded, and an export
holds what the run's file holds.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsProject
from qgis.PyQt.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer
from qgis.PyQt.QtGui import QColor, QKeyEvent
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QApplication, QColorDialog, QFileDialog, QMessageBox

HANG_S = 60.0  # a run of the tiny clips takes seconds: a task still going after this is a hang
STOP_S = 20.0  # after Stop, the run ends within this
SETTLE_MS = 15  # events processed after every action (queued signals, layout)
LEFT = Qt.MouseButton.LeftButton
NO_MODIFIER = Qt.KeyboardModifier.NoModifier
KEYS = {
    "left": Qt.Key.Key_Left,
    "right": Qt.Key.Key_Right,
    "home": Qt.Key.Key_Home,
    "end": Qt.Key.Key_End,
    "space": Qt.Key.Key_Space,
}


@dataclasses.dataclass(frozen=True)
class Failure:
    kind: str  # exception, log, hang, lost_frames, counts_down, partial, gpkg, export
    action_index: int  # the action after which it was seen (-1: at the sequence's end)
    text: str

    @property
    def signature(self) -> str:
        """What makes two failures the same bug: the kind and the first line (an exception's type and
        where it was raised)."""
        return f"{self.kind}: {self.text.splitlines()[0][:160]}"


@dataclasses.dataclass
class RunFile:
    """What the dock showed of the runs written to one GeoPackage."""

    emitted: dict = dataclasses.field(default_factory=dict)  # track id -> frames told tracked
    deleted: set = dataclasses.field(default_factory=set)  # track ids the user deleted
    counts: dict = dataclasses.field(default_factory=dict)  # track id -> points, at the last check


def read_track_frames(gpkg: Path) -> dict[int, set[int]] | None:
    """Track id -> frames of the GeoPackage's points layer; None when the file does not open."""
    from osgeo import ogr

    dataset = ogr.Open(str(gpkg))
    if dataset is None:
        return None
    layer = dataset.GetLayerByName("points")
    frames: dict[int, set[int]] = {}
    if layer is not None:
        for feature in layer:
            frames.setdefault(feature["track_id"], set()).add(feature["frame"])
    return frames


def _exception_text(error_type, error, trace) -> str:
    frames = traceback.extract_tb(trace)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{error_type.__name__} at {where}: {error}\n" + "".join(
        traceback.format_exception(error_type, error, trace)
    )


class Monkey:
    """One QGIS application, the plugin loaded in a stub QGIS window, sequences of actions run on it."""

    def __init__(self, clips: list[str], out_dir: Path):
        from test_plugin_support import StubInterface

        self.clips, self.out_dir = clips, Path(out_dir)
        self.iface = StubInterface()
        self.iface.main_window.show()
        self.plugin = None
        self.failures: list[Failure] = []
        self.files: dict[Path, RunFile] = {}
        self.outcomes: list = []  # run outcomes not checked yet
        self.run_statuses: dict[str, int] = {}
        self.lost_frames = 0
        self.events: list[str] = []  # unexpected dialogs closed, for the report
        self._answer = None  # the button the next message box gets
        self._color = "#ff00ff"
        self._errors: list[str] = []
        self._lock = threading.Lock()
        self._action_index = -1
        self.seconds: dict[str, float] = {}
        self.on_action = None  # called with each action's index before it runs
        self._watchdog = QTimer()
        self._watchdog.timeout.connect(self._answer_dialogs)

    # --- sequence -------------------------------------------------------------------------------
    @contextmanager
    def watching(self):
        """Exceptions, the message log and modal dialogs watched while the sequence runs."""
        hooks = sys.excepthook, threading.excepthook
        sys.excepthook = lambda *info: self._error(_exception_text(*info))
        threading.excepthook = lambda args: self._error(
            _exception_text(args.exc_type, args.exc_value, args.exc_traceback)
        )
        log = QgsApplication.messageLog()
        log.messageReceived[str, str, Qgis.MessageLevel].connect(self._logged)
        self._watchdog.start(30)
        try:
            yield
        finally:
            self._watchdog.stop()
            log.messageReceived[str, str, Qgis.MessageLevel].disconnect(self._logged)
            sys.excepthook, threading.excepthook = hooks

    def run(self, actions: list) -> list[Failure]:
        """Reset, run `actions`, check after each and at the end; the failures seen."""
        started = time.monotonic()
        self.reset()
        self.seconds = {"reset": time.monotonic() - started}  # by action kind, for the report
        with self.watching():
            for index, action in enumerate(actions):
                self._action_index = index
                if self.on_action is not None:
                    self.on_action(index)
                started = time.monotonic()
                try:
                    getattr(self, "do_" + action[0])(*action[1:])
                except Exception:  # noqa: BLE001 (the plugin's errors reach the hooks: this is the tester's)
                    self._fail("tester", traceback.format_exc())
                QTest.qWait(SETTLE_MS)
                if time.monotonic() - started > HANG_S:
                    self._fail("hang", f"{action[0]} took {time.monotonic() - started:.0f} s")
                self.check()
                self.seconds[action[0]] = self.seconds.get(action[0], 0.0) + time.monotonic() - started
            self._action_index = -1
            started = time.monotonic()
            self.finish()
            self.seconds["finish"] = time.monotonic() - started
        return list(self.failures)

    def reset(self) -> None:
        """A fresh start: the plugin unloaded (its run stopped), an empty project and output folder, the
        settings of the campaign, the plugin loaded and its dock opened from the toolbar."""
        from qgis_siammask.settings import PluginSettings, default_model_path, save_settings

        self._unload()
        self._drain(HANG_S)
        QgsProject.instance().clear()
        shutil.rmtree(self.out_dir, ignore_errors=True)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_settings(
            PluginSettings(
                model_path=default_model_path(),
                device="cpu",
                output_folder=str(self.out_dir),
                default_output_folder=str(self.out_dir),  # after New Project too
            )
        )
        self.failures, self.files, self.outcomes, self.events, self._errors = [], {}, [], [], []
        self.lost_frames, self.run_statuses = 0, {}
        self.do_load()

    def finish(self) -> None:
        """The end of a sequence: Stop a run still going; every task ends within the bound; every file
        checked once more."""
        dock = self.dock
        if dock is not None and dock.task is not None:
            QTest.mouseClick(dock.stop_button, LEFT) if dock.stop_button.isEnabled() else dock.runs.stop()
        if not self._drain(STOP_S):
            self._fail("hang", "a task still runs %.0f s after Stop" % STOP_S)
            for task in QgsApplication.taskManager().activeTasks():
                task.cancel()
            self._drain(HANG_S)
        QTest.qWait(SETTLE_MS)
        self.check()
        for path in list(self.files):
            self._check_file(path, succeeded=False)

    # --- checks ---------------------------------------------------------------------------------
    def _fail(self, kind: str, text: str) -> None:
        failure = Failure(kind, self._action_index, text)
        if all(seen.signature != failure.signature for seen in self.failures):  # once a sequence
            self.failures.append(failure)

    def _error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)

    def _logged(self, message: str, tag: str, level) -> None:
        from qgis_siammask.core.definitions import PLUGIN_NAME

        python_error = tag.startswith("Python") or "Traceback (most recent call last)" in message
        if python_error or (tag == PLUGIN_NAME and level == Qgis.Critical):
            self._error(f"QGIS log [{tag}]: {message}")

    def check(self) -> None:
        with self._lock:
            errors, self._errors = self._errors, []
        for text in dict.fromkeys(errors):  # the same error from each batch of frames: once
            self._fail("log" if text.startswith("QGIS log") else "exception", text)
        outcomes, self.outcomes = self.outcomes, []
        for outcome in outcomes:
            self.run_statuses[outcome.status] = self.run_statuses.get(outcome.status, 0) + 1
            if "unexpected error" in outcome.message:  # the engine caught a bug and failed the run
                self._fail("exception", f"a run failed: {outcome.message}")
            if str(outcome.gpkg_path).endswith(".gpkg") and Path(outcome.gpkg_path).is_file():
                self._check_file(Path(outcome.gpkg_path), succeeded=outcome.status == "success")

    def _check_file(self, gpkg: Path, succeeded: bool) -> None:
        from qgis_siammask.core.files import partial_path

        record = self.files.setdefault(gpkg, RunFile())
        if succeeded and partial_path(gpkg).exists():
            self._fail("partial", f"{partial_path(gpkg).name} left beside {gpkg.name} after a successful run")
        if not gpkg.exists():  # the run never wrote it (stopped before its first frame)
            return
        frames = read_track_frames(gpkg)
        if frames is None:
            self._fail("gpkg", f"{gpkg.name} does not open")
            return
        for track, before in record.counts.items():
            now = len(frames.get(track, ()))
            if track not in record.deleted and now < before:
                self._fail("counts_down", f"{gpkg.name}: track {track} had {before} points, now {now}")
        for track, emitted in record.emitted.items():
            missing = emitted - frames.get(track, set()) if track not in record.deleted else set()
            if missing:
                self.lost_frames += len(missing)
                self._fail("lost_frames", f"{gpkg.name}: track {track} frames {sorted(missing)} not in it")
                record.emitted[track] = emitted - missing  # counted once
        record.counts = {track: len(f) for track, f in frames.items() if track not in record.deleted}

    def _drain(self, bound_s: float) -> bool:
        """True when no task is active within `bound_s`."""
        end = time.monotonic() + bound_s
        while QgsApplication.taskManager().countActiveTasks() and time.monotonic() < end:
            QTest.qWait(10)
        return not QgsApplication.taskManager().countActiveTasks()

    # --- what the dock tells (connected to each dock the plugin makes) ---------------------------
    def _watch_dock(self, dock) -> None:
        if getattr(dock, "monkey_watched", False):
            return
        dock.monkey_watched = True
        dock.runs.framesTracked.connect(self._frames_tracked)
        dock.runs.runFinished.connect(self._run_finished)
        dock.tracks_panel.trackDeleted.connect(self._track_deleted)

    def _run_finished(self, outcome) -> None:
        self.outcomes.append(outcome)

    def _frames_tracked(self, frames) -> None:
        job = self.dock.runs.last_job if self.dock is not None else None
        if job is None or not str(job.output_gpkg).endswith(".gpkg"):
            return
        emitted = self.files.setdefault(Path(job.output_gpkg), RunFile()).emitted
        for features in frames:
            for track in features.tracks:
                emitted.setdefault(track.track_id, set()).add(features.frame)

    def _track_deleted(self, track_id: int) -> None:
        gpkg = self.dock.runs.result_gpkg if self.dock is not None else None
        if gpkg is not None:
            self.files.setdefault(Path(gpkg), RunFile()).deleted.add(track_id)

    def _answer_dialogs(self) -> None:
        """Modal dialogs get the click the action asked for; any other is closed (and reported)."""
        modal = QApplication.activeModalWidget()
        if modal is None:
            return
        if isinstance(modal, QMessageBox) and self._answer is not None:
            button, self._answer = modal.button(self._answer), None
            QTest.mouseClick(button, LEFT)
        elif isinstance(modal, QColorDialog):
            modal.setCurrentColor(QColor(self._color))
            modal.accept()
        else:
            self.events.append(f"closed an unexpected dialog: {modal.windowTitle()}")
            modal.reject()

    # --- the plugin manager ----------------------------------------------------------------------
    @property
    def dock(self):
        return self.plugin.dock if self.plugin is not None else None

    def _unload(self) -> None:
        if self.plugin is not None:
            self.plugin.unload()
            self.plugin = None
            QTest.qWait(SETTLE_MS)  # deleteLater of the dock

    def do_load(self) -> None:
        """Plugin manager: tick the plugin; then its toolbar button opens the dock."""
        import qgis_siammask

        if self.plugin is not None:
            return
        self.plugin = qgis_siammask.classFactory(self.iface)
        self.plugin.initGui()
        self.plugin.dock_action.trigger()
        if self.dock is not None:
            self._watch_dock(self.dock)

    def do_unload(self) -> None:
        self._unload()

    def do_reload(self) -> None:
        """Plugin manager's reload: unload, load, the dock opened again."""
        self._unload()
        self.do_load()

    def do_toggle_dock(self) -> None:
        if self.plugin is not None:
            self.plugin.dock_action.trigger()
            if self.dock is not None:
                self._watch_dock(self.dock)

    # --- the dock --------------------------------------------------------------------------------
    def _shown_dock(self):
        """The dock when the user can see it (loaded, not closed), else None: the action is skipped."""
        dock = self.dock
        return dock if dock is not None and dock.isVisible() else None

    def _click(self, button) -> None:
        QTest.mouseClick(button, LEFT)

    def _show_tab(self, dock, panel) -> None:
        tabs = dock.panels
        index = tabs.indexOf(panel)
        if tabs.currentIndex() != index:
            QTest.mouseClick(tabs.tabBar(), LEFT, NO_MODIFIER, tabs.tabBar().tabRect(index).center())

    def do_open(self, clip: int) -> None:
        dock = self._shown_dock()
        if dock is not None:
            with _answer_file_dialog("getOpenFileName", self.clips[clip]):
                self._click(dock.open_button)

    def do_telemetry(self, which: int) -> None:
        """Telemetry…: the SRT of clip `which` (0, 1: the clip's own or the other's) or a file that is not
        telemetry (2)."""
        dock = self._shown_dock()
        if dock is not None:
            path = str(Path(self.clips[which]).with_suffix(".srt")) if which < 2 else self.clips[3]
            with _answer_file_dialog("getOpenFileName", path):
                self._click(dock.clip_rows.telemetry_button)

    def do_table(self, row: int) -> None:
        """Table…: the telemetry records; a click on record `row` (modulo the records) seeks there."""
        dock = self._shown_dock()
        if dock is None or not dock.telemetry_table_button.isEnabled():
            return
        self._click(dock.telemetry_table_button)
        dialog = dock.telemetry_table.dialog
        view = dialog.view if dialog is not None else None
        if view is not None and view.model().rowCount():
            index = view.model().index(row % view.model().rowCount(), 0)
            QTest.mouseClick(view.viewport(), LEFT, NO_MODIFIER, view.visualRect(index).center())

    def _image_point(self, view, fx: float, fy: float) -> QPoint:
        """The widget point at fractions (fx, fy) of the image shown (of the widget without one)."""
        rect = view.image_rect() if view.image_rect().isValid() else QRectF(view.rect())
        return QPointF(rect.left() + fx * rect.width(), rect.top() + fy * rect.height()).toPoint()

    def do_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """A drag on the video from (x0, y0) to (x1, y1), fractions of the image (outside 0-1: off it)."""
        dock = self._shown_dock()
        if dock is None:
            return
        view = dock.frame_view
        start, end = self._image_point(view, x0, y0), self._image_point(view, x1, y1)
        QTest.mousePress(view, LEFT, NO_MODIFIER, start)
        QTest.mouseMove(view, (start + end) / 2)
        QTest.mouseMove(view, end)
        QTest.mouseRelease(view, LEFT, NO_MODIFIER, end)

    def do_label(self, text: str) -> None:
        dock = self._shown_dock()
        if dock is not None:
            self._show_tab(dock, dock.targets)
            dock.label_edit.setFocus()
            QTest.keyClick(dock.label_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
            _type(dock.label_edit, text)

    def do_end_frame(self, frame: int) -> None:
        """The end frame typed in its field (0: end of video)."""
        dock = self._shown_dock()
        if dock is None:
            return
        self._show_tab(dock, dock.targets)
        spin = dock.targets.end_frame_spin
        spin.setFocus()
        QTest.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(spin, str(frame))
        QTest.keyClick(spin, Qt.Key.Key_Return)

    def do_remove_box(self, row: int) -> None:
        dock = self._shown_dock()
        if dock is None:
            return
        self._show_tab(dock, dock.targets)
        table = dock.box_table
        if table.rowCount():
            item = table.item(row % table.rowCount(), 1)
            QTest.mouseClick(table.viewport(), LEFT, NO_MODIFIER, table.visualItemRect(item).center())
        self._click(dock.targets.remove_button)

    def do_clear_boxes(self) -> None:
        dock = self._shown_dock()
        if dock is not None:
            self._show_tab(dock, dock.targets)
            self._click(dock.targets.clear_button)

    def do_track(self) -> None:
        dock = self._shown_dock()
        if dock is not None:
            self._click(dock.track_button)

    def do_stop(self, delay_ms: int) -> None:
        """Stop at a random moment; the run must end soon after."""
        dock = self._shown_dock()
        if dock is None:
            return
        QTest.qWait(delay_ms)
        if dock.task is None:
            return
        self._click(dock.stop_button)
        end = time.monotonic() + STOP_S
        while dock.task is not None and time.monotonic() < end:
            QTest.qWait(10)
        if dock.task is not None:
            self._fail("hang", f"the run goes on {STOP_S:.0f} s after Stop")

    def do_wait(self, ms: int) -> None:
        QTest.qWait(ms)

    def do_wait_run(self) -> None:
        """Wait for the run to end (a user watching it); longer than HANG_S is a hang."""
        dock = self.dock
        end = time.monotonic() + HANG_S
        while dock is not None and dock.task is not None and time.monotonic() < end:
            QTest.qWait(10)
        if dock is not None and dock.task is not None:
            self._fail("hang", f"a run still going after {HANG_S:.0f} s")

    def do_key(self, key: str) -> None:
        """Left, Right, Home, End or Space (play, pause) on the video."""
        dock = self._shown_dock()
        if dock is not None:
            dock.frame_view.setFocus()
            QTest.keyClick(dock.frame_view, KEYS[key])

    def do_play(self, ms: int) -> None:
        """Play for a while, then pause (Space, Space)."""
        dock = self._shown_dock()
        if dock is not None:
            self._click(dock.play_button)
            QTest.qWait(ms)
            self._click(dock.play_button)

    def do_step(self, back: bool) -> None:
        dock = self._shown_dock()
        if dock is not None:
            self._click(dock.step_back_button if back else dock.step_button)

    def do_slider(self, fraction: float) -> None:
        """The slider dragged to a fraction of the clip."""
        dock = self._shown_dock()
        if dock is not None and dock.slider.isEnabled():
            slider = dock.slider
            slider.setValue(round(slider.minimum() + fraction * (slider.maximum() - slider.minimum())))

    # --- the tracks panel ------------------------------------------------------------------------
    def _track_row(self, row: int, column: int):
        """Click the tracks table's row `row` (modulo the rows) in `column`; the table, None when empty."""
        dock = self._shown_dock()
        if dock is None:
            return None
        self._show_tab(dock, dock.tracks_panel)
        table = dock.tracks_panel.table
        if not table.rowCount():
            return None
        rect = table.visualItemRect(table.item(row % table.rowCount(), column))
        QTest.mouseClick(table.viewport(), LEFT, NO_MODIFIER, rect.center())
        return table

    def do_select_track(self, row: int) -> None:
        from qgis_siammask.gui.tracks_panel import FRAMES

        self._track_row(row, FRAMES)

    def _correct(self, button_name: str, yes: bool) -> None:
        """Re-seat or Add target; a question (tracking over a later correction) answered Yes or No."""
        dock = self._shown_dock()
        if dock is not None:
            self._show_tab(dock, dock.tracks_panel)
            self._answer = QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No
            self._click(getattr(dock.tracks_panel, button_name))
            self._answer = None

    def do_reseat(self, yes: bool = True) -> None:
        self._correct("reseat_button", yes)

    def do_add_target(self, yes: bool = True) -> None:
        self._correct("add_button", yes)

    def do_delete(self, row: int, yes: bool) -> None:
        from qgis_siammask.gui.tracks_panel import FRAMES

        if self._track_row(row, FRAMES) is None:
            return
        self._answer = QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No
        self._click(self.dock.tracks_panel.delete_button)
        self._answer = None

    def do_rename(self, row: int, text: str) -> None:
        from qgis_siammask.gui.tracks_panel import LABEL

        table = self._track_row(row, LABEL)
        if table is None:
            return
        QTest.keyClick(table, Qt.Key.Key_F2)
        editor = QApplication.focusWidget()  # the cell's editor, when F2 opened one
        if editor is not None and table.isAncestorOf(editor):
            QTest.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
            _type(editor, text)
            QTest.keyClick(editor, Qt.Key.Key_Return)

    def do_visibility(self, row: int) -> None:
        """Untick or tick a track's "shown" box (Space on its cell)."""
        from qgis_siammask.gui.tracks_panel import SHOWN

        table = self._track_row(row, SHOWN)
        if table is not None:
            QTest.keyClick(table, Qt.Key.Key_Space)

    def do_recolour(self, row: int, color: str) -> None:
        from qgis_siammask.gui.tracks_panel import COLOUR

        self._color = color
        self._track_row(row, COLOUR)

    def do_export(self, name: str, add: bool) -> None:
        """Export… with a file name ("" cancels the dialog), adding to the project or not; what it wrote
        holds the run file's tracks with their points."""
        dock = self._shown_dock()
        if dock is None:
            return
        check = dock.run_rows.export_add_check
        if check.isVisible() and check.isChecked() != add:
            self._click(check)
        target = str(self.out_dir / name) if name else ""
        run_file = dock.runs.result_gpkg
        with _answer_file_dialog("getSaveFileName", target):
            self._click(dock.export_button)
        if target and run_file is not None and Path(target).is_file() and dock.export_button.isEnabled():
            exported, source = read_track_frames(Path(target)), read_track_frames(run_file)
            if exported != source:
                self._fail("export", f"{name} holds {_sizes(exported)}, the run's file {_sizes(source)}")

    def do_detach(self) -> None:
        dock = self._shown_dock()
        if dock is not None:
            self._click(dock.detach_button)

    # --- the Layers panel and the File menu --------------------------------------------------------
    def _our_groups(self, kind: str) -> list:
        """The plugin's groups of `kind`: "video" (a clip's) or "run" (one inside it)."""
        from qgis_siammask.core.definitions import GROUP_KEY_PROPERTY

        groups = [
            group
            for group in QgsProject.instance().layerTreeRoot().findGroups(True)
            if group.customProperty(GROUP_KEY_PROPERTY)
        ]
        nested = [
            group for group in groups if group.parent() and group.parent().customProperty(GROUP_KEY_PROPERTY)
        ]
        return nested if kind == "run" else [g for g in groups if g not in nested]

    def do_move_group(self, kind: str, where: str, pick: int) -> None:
        """Drag a group to the top, the bottom or into a group of the user's own (clone, insert,
        remove, as the Layers panel's drop does)."""
        groups = self._our_groups(kind)
        if not groups:
            return
        group = groups[pick % len(groups)]
        root = QgsProject.instance().layerTreeRoot()
        if where == "into":
            target = root.findGroup("my group") or root.addGroup("my group")
            if target is group or group.findGroup("my group") is not None:
                return
            target.insertChildNode(0, group.clone())
        else:
            root.insertChildNode(0 if where == "top" else len(root.children()), group.clone())
        group.parent().removeChildNode(group)

    def do_remove_group(self, kind: str, pick: int) -> None:
        """Remove a group (with its layers) in the Layers panel."""
        groups = self._our_groups(kind)
        if groups:
            group = groups[pick % len(groups)]
            ids = [node.layerId() for node in group.findLayers()]
            group.parent().removeChildNode(group)
            QgsProject.instance().removeMapLayers(ids)

    def do_remove_layer(self, pick: int) -> None:
        """Remove one layer of a run in the Layers panel."""
        layers = [node.layer() for group in self._our_groups("run") for node in group.findLayers()]
        layers = [layer for layer in layers if layer is not None]
        if layers:
            QgsProject.instance().removeMapLayer(layers[pick % len(layers)].id())

    def do_new_project(self) -> None:
        QgsProject.instance().clear()

    def do_save_project(self, reopen: bool) -> None:
        """File > Save As (a project beside the runs), then with `reopen` File > Open of it."""
        project = QgsProject.instance()
        path = str(self.out_dir / "project.qgz")
        if not project.write(path):
            self.events.append(f"the project could not be saved: {project.error()}")
        elif reopen:
            project.read(path)


def _type(widget, text: str) -> None:
    """Keys typed into `widget`, letters outside ASCII too (QTest.keyClicks aborts on them)."""
    for character in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, 0, NO_MODIFIER, character))


def _sizes(frames) -> dict | None:
    return {track: len(f) for track, f in frames.items()} if frames is not None else None


@contextmanager
def _answer_file_dialog(name: str, path: str):
    """QFileDialog.`name` answers `path` ("": the user cancels) while the block runs."""
    original = getattr(QFileDialog, name)
    setattr(QFileDialog, name, staticmethod(lambda *args, **kwargs: (path, "")))
    try:
        yield
    finally:
        setattr(QFileDialog, name, original)

