"""Resolves dotted names (`Qt.MouseButton.LeftButton`, `QMouseEvent.pos`) in one Qt binding, run as a
script in a process of its own so that PyQt5 and PyQt6 never meet: `python qt_names.py qt5|qt6` reads
`[[module, dotted name], ...]` as JSON on stdin and prints one verdict per name: "" when it resolves,
else why not.

qt5 is what the plugin gets on the host's QGIS 3.22: `qgis.PyQt.QtX`, `qgis.core`, `qgis.gui`.
qt6 is plain PyQt6 (`qgis.PyQt.QtX` -> `PyQt6.QtX`), the least a QGIS 4 build offers; qgis.core and
qgis.gui names are not looked up there (no QGIS 4 build here), only their scoping is checked on qt5.
"""

from __future__ import annotations

import enum
import importlib
import json
import sys


def _module(binding: str, name: str):
    if binding == "qt6":
        if not name.startswith("qgis.PyQt."):
            return None
        return importlib.import_module("PyQt6." + name.rsplit(".", 1)[1])
    return importlib.import_module(name)


def _is_enum_member(value) -> bool:
    """An enum value of PyQt6 (a Python enum) or of PyQt5/sip 4 (an int of a `sip.enumtype` class)."""
    return isinstance(value, enum.Enum) or type(type(value)).__name__ == "enumtype"


def _same_member(candidate, value, enum_type) -> bool:
    return candidate is value or (type(candidate) is enum_type and candidate == value)


def _scoped_name(value, accessed_as: str) -> str:
    """`Qgis.TransformDirection.Reverse` for `QgsCoordinateTransform.ReverseTransform` (an alias of it)."""
    enum_type = type(value)
    names = [accessed_as] + [name for name in dir(enum_type) if not name.startswith("_")]
    member = next(name for name in names if _same_member(getattr(enum_type, name, None), value, enum_type))
    return f"{enum_type.__qualname__}.{member}"


def verdict(binding: str, module_name: str, dotted: str) -> str:
    try:
        value = _module(binding, module_name)
    except ImportError as error:
        return f"no module {module_name} ({error})"
    if value is None:
        return ""
    path = []
    for part in dotted.split("."):
        parent, path = value, path + [part]
        try:
            value = getattr(parent, part)
        except AttributeError:
            return f"{'.'.join(path)} does not exist"
        if _is_enum_member(value) and isinstance(parent, type) and parent is not type(value):
            return f"unscoped enum member {'.'.join(path)}: write {_scoped_name(value, part)}"
    return ""


def main() -> None:
    binding = sys.argv[1]
    names = json.load(sys.stdin)
    print(json.dumps([verdict(binding, module_name, dotted) for module_name, dotted in names]))


if __name__ == "__main__":
    main()
