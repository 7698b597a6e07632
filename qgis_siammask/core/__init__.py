"""The plugin's pure-Python engine: video, telemetry, camera, tracker, track store.

Nothing under this package imports qgis, so it runs headless from the command line and is tested
with plain pytest (tests/test_core_is_qgis_free.py checks it).
"""
