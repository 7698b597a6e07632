"""Batch tracking over many videos on Dask: job files (`jobs`), the client side (`runner`) and what
runs on each worker (`worker`). Dask (`distributed`) is imported only when a batch runs."""
