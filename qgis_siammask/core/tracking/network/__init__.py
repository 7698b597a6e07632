"""The SiamMask network in plain torch (authors' module names), checkpoint loading and TorchScript export.

Imported only to convert a checkpoint (`python -m qgis_siammask models convert`) or to train: the
tracker itself needs only the exported TorchScript file.
"""
