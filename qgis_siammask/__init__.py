"""qgis-siammask: track objects in full-motion video with SiamMask and map every frame.

QGIS calls `classFactory`; everything heavy (qgis, torch, av, cv2) is imported lazily so that the
engine in `qgis_siammask.core` also runs headless (`python -m qgis_siammask`).
"""

__version__ = "0.1.0"


def classFactory(iface):  # noqa: N802 (name fixed by QGIS)
    """QGIS entry point: the plugin's package folder goes on sys.path (after QGIS's own site-packages),
    then the plugin object checks its dependencies before enabling tracking."""
    from .plugin import SiamMaskPlugin, add_package_folder

    add_package_folder()
    return SiamMaskPlugin(iface)
