"""Allow `python -m qgis_siammask ...` (headless engine, no QGIS needed)."""
import sys

from qgis_siammask.core.cli import main

sys.exit(main())
