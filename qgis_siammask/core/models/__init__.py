"""Model files: the catalogue of known models, downloads (urllib, resumable), conversion of checkpoints to
TorchScript, and the user's model folder. Listing reads metadata without torch; conversion imports it."""
