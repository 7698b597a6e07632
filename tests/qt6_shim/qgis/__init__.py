"""Test-only stand-in for QGIS 4's `qgis` package: only `qgis.PyQt`, mapped to PyQt6 from PyPI.

It goes first on the path of a child process (tests/test_qt6_widgets.py), so that the plugin's own
`from qgis.PyQt.QtWidgets import ...` lines load PyQt6. There is no `qgis.core` here: a widget that needs
one fails to import, which is how the test proves the Qt-only widgets stand alone.
"""
