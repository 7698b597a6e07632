"""Training SiamMask (data sets, pair sampling, anchor targets, losses, the training loop): development side.

The network definition, checkpoint loading and export live in `qgis_siammask.core.tracking.network`
(they ship with the plugin); the plugin never imports this package.
"""
