"""File helpers every layer may use: a file's SHA-256, and outputs that never destroy earlier results.

Work goes to a partial file beside the target (same folder, so the same file system) and is renamed over
the target only when it is finished.

`NAME.ext` is written as `NAME.partial.ext`; a failed or killed run leaves the target as it was (byte for
byte) and, where asked, its partial file for the user to inspect or recover.
"""
from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .definitions import PARTIAL_OUTPUT_INFIX
from .errors import OutputError

HASH_BLOCK_BYTES = 1 << 20


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(HASH_BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def partial_path(target: str | Path) -> Path:
    """`NAME.partial.ext` beside `target` = `NAME.ext`."""
    target = Path(target)
    return target.with_name(f"{target.stem}{PARTIAL_OUTPUT_INFIX}{target.suffix}")


def discard(path: str | Path, side_suffixes: tuple[str, ...] = ()) -> None:
    """Remove `path` and its side files (`path` + suffix, e.g. SQLite's `-journal`) where they exist."""
    for suffix in ("", *side_suffixes):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def commit(partial: str | Path, target: str | Path, side_suffixes: tuple[str, ...] = ()) -> Path:
    """Rename the finished `partial` over `target` in one step (os.replace); a stale side file of the
    target (a hot SQLite journal left by a killed writer) is removed first, or it would be replayed into
    the new file. Raises OutputError naming both files when the rename fails; `partial` is then kept."""
    target = Path(target)
    try:
        for suffix in side_suffixes:
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(partial, target)
    except OSError as error:
        raise OutputError(f"cannot rename the finished output {partial} to its name", details=str(error),
                          path=target) from error
    return target


def copy_database(source: str | Path, target: str | Path) -> None:
    """Copy the SQLite file `source` (a GeoPackage) to `target` through SQLite's backup, so what other
    connections committed is copied too: QGIS keeps a run's layers open in WAL mode, and their edits
    (a track renamed or deleted) stay in `source`-wal until a checkpoint, where a plain file copy misses
    them. OutputError naming `source` when it cannot be read or `target` written."""
    import sqlite3
    from contextlib import closing

    try:
        with closing(sqlite3.connect(str(source))) as read, closing(sqlite3.connect(str(target))) as written:
            read.backup(written)
    except sqlite3.Error as error:
        raise OutputError(
            "cannot copy the GeoPackage to add to it", details=str(error), path=source
        ) from error


@contextmanager
def atomic_output(target: str | Path, keep_on_failure: bool = False) -> Iterator[Path]:
    """Yield the partial path to write; on success it replaces `target`, on any exception it is removed
    (kept when `keep_on_failure` and not empty) and `target` is untouched. A stale partial file from an
    earlier killed run is removed first."""
    partial = partial_path(target)
    discard(partial)
    try:
        yield partial
    except BaseException:
        if not keep_on_failure or not partial.is_file() or partial.stat().st_size == 0:
            discard(partial)
        raise
    commit(partial, target)
