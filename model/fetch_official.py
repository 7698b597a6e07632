"""`make model`: get the authors' SiamMask_DAVIS.pth (download or local file) and export it to TorchScript.

    python -m model.fetch_official --out model/weights [--checkpoint LOCAL.pth]

The checkpoint is published by the SiamMask authors at `OFFICIAL_URL` (MIT licence). No sha256 of it is
published alongside, and none could be found in the sources available while writing this, so instead of
a pinned hash the file is checked by size range and by loading every tensor into the architecture
(`weights_only=True`, strict name and shape match); its sha256 is printed and stored in the exported
model's metadata (`source_sha256`) so a deployment can pin it.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import urllib.request
from pathlib import Path

from qgis_siammask.core.cli import report_error
from qgis_siammask.core.errors import ModelError, SiamMaskError
from qgis_siammask.core.tracking.network.export import export_torchscript, sha256_of

OFFICIAL_URL = "http://www.robots.ox.ac.uk/~qwang/SiamMask_DAVIS.pth"
CHECKPOINT_NAME = "SiamMask_DAVIS.pth"
PLAUSIBLE_BYTES = (50_000_000, 200_000_000)  # the release is about 86 MB


def download(url: str, destination: Path, timeout_s: float = 30.0) -> Path:
    partial = destination.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ModelError(
            f"cannot download {url} ({error}). Offline? Download {CHECKPOINT_NAME} on a connected machine "
            f"and put it at {destination}, or pass --checkpoint /path/to/{CHECKPOINT_NAME}", path=destination,
        ) from error
    partial.replace(destination)
    return destination


def check_size(checkpoint: Path) -> None:
    """Size plausibility; the strict load into the architecture happens in the export that follows."""
    size = checkpoint.stat().st_size
    if not PLAUSIBLE_BYTES[0] <= size <= PLAUSIBLE_BYTES[1]:
        raise ModelError(f"{size} bytes is not the size of a SiamMask ResNet-50 checkpoint", path=checkpoint)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.fetch_official", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="model/weights", help="folder for the checkpoint and siammask_davis.pt")
    parser.add_argument("--checkpoint", default=None, help=f"use this local {CHECKPOINT_NAME} instead of downloading")
    parser.add_argument("--url", default=OFFICIAL_URL)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        checkpoint = Path(args.checkpoint) if args.checkpoint else out / CHECKPOINT_NAME
        if not checkpoint.is_file():
            print(f"downloading {args.url} ...", file=sys.stderr)
            download(args.url, checkpoint)
        check_size(checkpoint)
        model = export_torchscript(checkpoint, out / "siammask_davis.pt")  # strict name/shape load
        digest = sha256_of(checkpoint)
    except SiamMaskError as error:
        return report_error(error)
    print(f"{checkpoint}: sha256 {digest}\nwrote {model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
