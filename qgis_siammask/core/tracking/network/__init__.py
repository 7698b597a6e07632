"""The SiamMask network in plain torch (authors' module names), checkpoint loading and TorchScript export.

`config` (the model-metadata schema) is torch-free and read by the tracker and the model list; the other
modules import torch and are used only to convert a checkpoint (`python -m qgis_siammask models convert`)
or to train. The tracker itself needs only the exported TorchScript file.
"""
