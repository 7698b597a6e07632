"""qgis.PyQt on Qt6: each module re-exports PyQt6's, nothing added (the least QGIS 4 offers)."""
