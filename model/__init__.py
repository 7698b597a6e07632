"""SiamMask network, official checkpoint loading, TorchScript export and training (development side).

The plugin never imports this package at run time: it only needs the exported TorchScript file.
"""
