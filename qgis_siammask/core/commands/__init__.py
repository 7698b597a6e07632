"""One module per command of `python -m qgis_siammask`."""
