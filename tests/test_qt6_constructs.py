"""The plugin's code holds no Qt5-only construct: it must run on QGIS 3.22 (PyQt5 5.15) and on QGIS 4 (Qt6).

Two checks over every .py under qgis_siammask/, both from the syntax tree:
- a deny list of what PyQt6 removed (the QGIS wiki's "Plugin migration to be compatible with Qt5 and
  Qt6"): `exec_()`, imports from PyQt5 instead of qgis.PyQt, QRegExp, QDesktopWidget, qApp,
  `QApplication.desktop()`, `fontMetrics().width()`, `setMargin`, `QWheelEvent.delta()`, QVariant types,
  compiled resources;
- every dotted name read from a class imported through qgis.PyQt (`Qt.MouseButton.LeftButton`,
  `QMessageBox.StandardButton.Yes`), every imported Qt name, and every attribute read from an event
  handler's event (`event.pos()` in `mousePressEvent`) is looked up in PyQt5-through-qgis.PyQt (the
  host's QGIS 3.22) and in PyQt6, each in a process of its own (tests/qt_names.py): it must exist in
  both, and enum members must be reached through their enum (unscoped `Qt.LeftButton` is gone in
  PyQt6). QGIS's own enums (`QgsTask.Flag.CanCancel`) are held to the same scoping on 3.22.

A finding names file:line and the portable form.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR = REPO_ROOT / "qgis_siammask"
ORACLE = Path(__file__).with_name("qt_names.py")

QT_MODULE_PREFIX = "qgis.PyQt."
QGIS_MODULES = ("qgis.core", "qgis.gui")
IMPORT_ERRORS = ("ImportError", "ModuleNotFoundError")
RESOURCES_GONE = "compiled resources ({}) are gone with pyrcc in Qt6: load files by path"
FORBIDDEN_MODULES = ("PyQt4", "PyQt5", "PyQt6", "PySide2", "PySide6", "sip")
REMOVED_NAMES = {
    "QRegExp": "QRegExp is gone in Qt6: QRegularExpression",
    "QRegExpValidator": "QRegExpValidator is gone in Qt6: QRegularExpressionValidator",
    "QDesktopWidget": "QDesktopWidget is gone in Qt6: QScreen (widget.screen(), QGuiApplication.screens())",
    "qApp": "qApp is gone in PyQt6: QApplication.instance() (or QgsApplication.instance())",
    "QMatrix": "QMatrix is gone in Qt6: QTransform",
    "QGLWidget": "QGLWidget is gone in Qt6: QOpenGLWidget",
}
REMOVED_METHODS = {
    "exec_": "exec_() is gone in PyQt6: exec()",
    "print_": "print_() is gone in PyQt6: print()",
    "desktop": "QApplication.desktop() is gone in Qt6: QScreen (widget.screen())",
    "setMargin": "QLayout.setMargin is gone in Qt6: setContentsMargins(m, m, m, m)",
    "delta": "QWheelEvent.delta() is gone in Qt6: angleDelta().y()",
}
FONT_METRICS_MAKERS = ("fontMetrics", "QFontMetrics", "QFontMetricsF")
# Classes that moved from QtWidgets to QtGui in Qt6; the only import that works on both 3.22 (whose
# qgis.PyQt.QtGui does not re-export them) and Qt6 is QtGui first, QtWidgets on ImportError.
MOVED_TO_QTGUI = ("QAction", "QActionGroup", "QShortcut", "QUndoCommand", "QUndoStack", "QFileSystemModel")
EVENT_HANDLERS = {
    "mousePressEvent": "QMouseEvent",
    "mouseReleaseEvent": "QMouseEvent",
    "mouseMoveEvent": "QMouseEvent",
    "mouseDoubleClickEvent": "QMouseEvent",
    "wheelEvent": "QWheelEvent",
    "keyPressEvent": "QKeyEvent",
    "keyReleaseEvent": "QKeyEvent",
    "resizeEvent": "QResizeEvent",
    "paintEvent": "QPaintEvent",
    "closeEvent": "QCloseEvent",
    "showEvent": "QShowEvent",
    "hideEvent": "QHideEvent",
    "contextMenuEvent": "QContextMenuEvent",
    "dragEnterEvent": "QDragEnterEvent",
    "dropEvent": "QDropEvent",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Lookup:
    """`dotted` must resolve in every module of `modules` alternatives (one is enough) under both Qts."""

    path: str
    line: int
    modules: tuple[str, ...]
    dotted: str


def _dotted(node: ast.AST) -> list[str] | None:
    """["Qt", "MouseButton", "LeftButton"] for `Qt.MouseButton.LeftButton`; None if not rooted at a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id] + parts[::-1]


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(name, ast.Name) and name.id in IMPORT_ERRORS for name in names)


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str):
        self.path = path
        self.findings: list[Finding] = []
        self.lookups: list[Lookup] = []
        self.imported: dict[str, list[str]] = {}  # local name -> modules it may come from
        self.import_lines: dict[str, int] = {}
        self.guarded_imports: set[str] = set()  # imported in a try that falls back on ImportError
        self.font_metrics_names: set[str] = set()
        self._try_depth_guarded = 0

    def flag(self, node: ast.AST, message: str) -> None:
        self.findings.append(Finding(self.path, node.lineno, message))

    # imports
    def visit_Try(self, node: ast.Try) -> None:
        guarded = any(_catches_import_error(handler) for handler in node.handlers if handler.type)
        self._try_depth_guarded += guarded
        for child in node.body + [h for h in node.handlers]:
            self.visit(child)
        self._try_depth_guarded -= guarded
        for child in node.orelse + node.finalbody:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)
            if alias.name.split(".")[-1].endswith("_rc"):
                self.flag(node, RESOURCES_GONE.format(alias.name))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self._check_module(node, module)
        for alias in node.names:
            local = alias.asname or alias.name
            if alias.name.endswith("_rc") or (node.level and alias.name == "resources"):
                self.flag(node, RESOURCES_GONE.format(alias.name))
            if alias.name in REMOVED_NAMES:
                self.flag(node, REMOVED_NAMES[alias.name])
            if module.startswith(QT_MODULE_PREFIX) or module in QGIS_MODULES:
                self.imported.setdefault(local, []).append(module)
                self.import_lines.setdefault(local, node.lineno)
                if self._try_depth_guarded:
                    self.guarded_imports.add(local)
                moved = module == "qgis.PyQt.QtWidgets" and alias.name in MOVED_TO_QTGUI
                if moved and not self._try_depth_guarded:
                    self.flag(
                        node,
                        f"{alias.name} moved to QtGui in Qt6: import it from qgis.PyQt.QtGui, "
                        "falling back on qgis.PyQt.QtWidgets on ImportError (QGIS 3.x)",
                    )

    def _check_module(self, node: ast.AST, module: str) -> None:
        if module.split(".")[0] in FORBIDDEN_MODULES:
            self.flag(node, f"import from {module}: import through qgis.PyQt (qgis.PyQt.QtCore...)")

    # names and attributes
    def visit_Name(self, node: ast.Name) -> None:
        if node.id in REMOVED_NAMES:
            self.flag(node, REMOVED_NAMES[node.id])

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in REMOVED_NAMES:
            self.flag(node, REMOVED_NAMES[node.attr])
        parts = _dotted(node)
        if parts and parts[0] == "QVariant" and parts[1:2] and parts[1][:1].isupper():
            self.flag(node, f"QVariant.{parts[1]} as a type is gone in PyQt6: QMetaType.Type.{parts[1]}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr in REMOVED_METHODS:
                self.flag(node, REMOVED_METHODS[func.attr])
            if func.attr == "width" and self._is_font_metrics(func.value):
                self.flag(node, "QFontMetrics.width() is gone in Qt6: horizontalAdvance()")
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._is_font_metrics(node.value):
            self.font_metrics_names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self.generic_visit(node)

    def _is_font_metrics(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.font_metrics_names
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            return name in FONT_METRICS_MAKERS
        return False

    # what the Qt bindings must resolve
    def collect_lookups(self, tree: ast.AST) -> None:
        for local, modules in self.imported.items():
            self.lookups.append(Lookup(self.path, self.import_lines[local], tuple(modules), local))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in EVENT_HANDLERS:
                self._collect_event_reads(node)
            if not isinstance(node, ast.Attribute):
                continue
            parts = _dotted(node)
            if parts and parts[0] in self.imported:
                modules = tuple(self.imported[parts[0]])
                self.lookups.append(Lookup(self.path, node.lineno, modules, ".".join(parts)))

    def _collect_event_reads(self, function: ast.FunctionDef) -> None:
        arguments = function.args.args
        if len(arguments) < 2:
            return
        event_name, event_class = arguments[1].arg, EVENT_HANDLERS[function.name]
        for node in ast.walk(function):
            read = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            if read and node.value.id == event_name:
                dotted = f"{event_class}.{node.attr}"
                self.lookups.append(Lookup(self.path, node.lineno, ("qgis.PyQt.QtGui",), dotted))


def scan_source(path: str, source: str) -> tuple[list[Finding], list[Lookup]]:
    tree = ast.parse(source, filename=path)
    scanner = _Scanner(path)
    scanner.visit(tree)
    scanner.collect_lookups(tree)
    return scanner.findings, scanner.lookups


def resolve(binding: str, lookups: list[Lookup], env: dict | None = None) -> list[str]:
    """One verdict per lookup ("" = fine): the first module alternative that resolves wins."""
    pairs = sorted({(module, lookup.dotted) for lookup in lookups for module in lookup.modules})
    result = subprocess.run(
        [sys.executable, str(ORACLE), binding],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    by_pair = dict(zip(pairs, json.loads(result.stdout.strip().splitlines()[-1])))
    verdicts = []
    for lookup in lookups:
        answers = [by_pair[(module, lookup.dotted)] for module in lookup.modules]
        verdicts.append("" if "" in answers else answers[0])
    return verdicts


def check(files: dict[str, str], qt6_env: dict) -> list[Finding]:
    """Every Qt5-only construct in `files` (path -> source), both checks; PyQt6 is looked up in a child
    process with `qt6_env`."""
    findings, lookups = [], []
    for path, source in files.items():
        file_findings, file_lookups = scan_source(path, source)
        findings += file_findings
        lookups += file_lookups
    for binding, env, label in (("qt5", None, "QGIS 3.22 (PyQt5)"), ("qt6", qt6_env, "PyQt6")):
        for lookup, verdict in zip(lookups, resolve(binding, lookups, env)):
            if verdict:
                findings.append(Finding(lookup.path, lookup.line, f"{verdict} in {label}"))
    return sorted(set(findings), key=lambda f: (f.path, f.line, f.message))


def _require_qgis() -> None:
    pytest.importorskip("qgis.PyQt.QtCore", reason="QGIS Python bindings are not installed")


def test_plugin_code_has_no_qt5_only_construct(qt6_env):
    _require_qgis()
    paths = sorted(PLUGIN_DIR.rglob("*.py"))
    files = {str(path.relative_to(REPO_ROOT)): path.read_text(encoding="utf-8") for path in paths}
    assert len(files) > 50
    findings = check(files, qt6_env)
    assert not findings, "Qt5-only constructs:\n" + "\n".join(map(str, findings))


def test_plugin_ships_no_compiled_resources():
    assert not list(PLUGIN_DIR.rglob("*.qrc")) and not list(PLUGIN_DIR.rglob("*_rc.py"))
    for build_file in [REPO_ROOT / "Makefile", *sorted((REPO_ROOT / "scripts").glob("*.py"))]:
        assert "pyrcc" not in build_file.read_text(encoding="utf-8"), build_file


BAD_SOURCE = '''\
from PyQt5.QtCore import pyqtSignal
from qgis.PyQt.QtCore import Qt, QRegExp, QVariant
from qgis.PyQt.QtWidgets import QAction, QMessageBox, QSizePolicy, QApplication, qApp
from qgis.core import QgsTask


class View:
    def mousePressEvent(self, event):
        if event.button() == Qt.LeftButton or event.buttons() & Qt.MidButton:
            return event.globalPos()

    def wheelEvent(self, event):
        return event.delta()

    def run(self, dialog, layout, label):
        dialog.exec_()
        layout.setMargin(2)
        QApplication.desktop()
        metrics = label.fontMetrics()
        label.setFixedWidth(metrics.width("x"))
        policy = QSizePolicy.Expanding
        answer = QMessageBox.Yes
        flags = QgsTask.CanCancel
        kind = QVariant.Int
        label.fontMetrics().width("y")
        return policy, answer, flags, kind
'''

GOOD_SOURCE = '''\
from qgis.PyQt.QtCore import Qt, QRegularExpression
from qgis.PyQt.QtWidgets import QMessageBox, QSizePolicy
from qgis.core import QgsTask

try:
    from qgis.PyQt.QtGui import QAction
except ImportError:
    from qgis.PyQt.QtWidgets import QAction


class View:
    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            return event.pos()

    def wheelEvent(self, event):
        return event.angleDelta().y(), event.position()

    def run(self, dialog, label):
        dialog.exec()
        label.fontMetrics().horizontalAdvance("x")
        return (QSizePolicy.Policy.Expanding, QMessageBox.StandardButton.Yes, QgsTask.Flag.CanCancel,
                QAction, QRegularExpression)
'''


def test_check_names_every_qt5_only_construct_with_its_line(qt6_env):
    _require_qgis()
    findings = check({"bad.py": BAD_SOURCE}, qt6_env)
    text = "\n".join(map(str, findings))
    expected = {
        1: "import from PyQt5",
        2: "QRegExp is gone",
        3: "QAction moved to QtGui",
        9: "Qt.LeftButton",
        10: "QMouseEvent.globalPos does not exist in PyQt6",
        13: "QWheelEvent.delta() is gone",
        16: "exec_() is gone",
        17: "QLayout.setMargin is gone",
        18: "QApplication.desktop() is gone",
        20: "QFontMetrics.width() is gone",
        21: "unscoped enum member QSizePolicy.Expanding",
        22: "QMessageBox.Yes does not exist in PyQt6",
        23: "unscoped enum member QgsTask.CanCancel: write QgsTask.Flag.CanCancel",
        24: "QVariant.Int as a type is gone",
        25: "QFontMetrics.width() is gone",
    }
    for line, fragment in expected.items():
        assert any(f.line == line and fragment in f.message for f in findings), (line, fragment, text)
    assert any(f.line == 9 and "Qt.MidButton" in f.message for f in findings), text
    assert sum("qApp is gone" in f.message for f in findings) == 1, text
    assert sum("QFontMetrics.width() is gone" in f.message for f in findings) == 2, text
    assert all(str(f).startswith(f"bad.py:{f.line}: ") for f in findings)


def test_check_accepts_the_portable_forms(qt6_env):
    _require_qgis()
    assert check({"good.py": GOOD_SOURCE}, qt6_env) == []


def test_metadata_offers_the_plugin_to_qgis_4():
    import configparser

    metadata = configparser.ConfigParser(interpolation=None)
    metadata.read(REPO_ROOT / "metadata.txt", encoding="utf-8")
    general = metadata["general"]
    assert general.getboolean("supportsQt6")
    assert general["qgisMaximumVersion"] == "4.99"
