"""The SiamMask runtime: TorchScript model, batched multi-target tracking, crops."""
