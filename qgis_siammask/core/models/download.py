"""Downloads with urllib: progress, cancel, resume with HTTP Range, retries after a dropped connection.

The file grows as `NAME.part` (`PARTIAL_DOWNLOAD_SUFFIX`) and is only renamed by the caller after its
checks, so a partial file is never taken for a model. QGIS downloads through its own network stack
(proxy, authentication) and hands the finished `.part` file to the same checks (`install.py`).
"""
from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..errors import DownloadCancelled, DownloadError

Progress = Callable[[int, "int | None"], None]  # (bytes so far, total bytes or None when unknown)
BLOCK_BYTES = 1 << 20


def download(url: str, part_path: Path, progress: Progress | None = None,
             is_cancelled: Callable[[], bool] | None = None, timeout_s: float = 30.0, attempts: int = 3) -> Path:
    """Fetch `url` into `part_path`, resuming what is there; returns `part_path` once the server's length
    is reached. DownloadError for HTTP errors, a web page, or `attempts` dropped connections in a row;
    DownloadCancelled (the partial file kept) when `is_cancelled()` turns true."""
    part_path.parent.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for _ in range(attempts):
        try:
            if _fetch_once(url, part_path, progress, is_cancelled, timeout_s):
                return part_path
            last_error = "the connection closed before the end of the file"
        except urllib.error.HTTPError as error:
            if error.code == 416 and part_path.exists():  # the partial file is longer than the server's
                part_path.unlink()
                last_error = "HTTP 416: the partial file did not match; restarted"
                continue
            raise DownloadError(f"cannot download {url}: HTTP {error.code} {error.reason}") from error
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            last_error = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
    resume = "; try again to resume" if part_path.is_file() and part_path.stat().st_size else ""
    raise DownloadError(f"cannot download {url} ({last_error}){resume}", details=last_error)


def _fetch_once(url: str, part_path: Path, progress: Progress | None, is_cancelled, timeout_s: float) -> bool:
    """One request from the partial file's end; True when the whole file is there."""
    offset = part_path.stat().st_size if part_path.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s) as response:
        content_type = response.headers.get("Content-Type", "")
        first_block = response.read(BLOCK_BYTES)
        check_not_a_web_page(url, content_type, first_block)
        resumed = offset > 0 and response.status == 206
        total = total_bytes(response.headers, offset if resumed else 0)
        done = offset if resumed else 0
        block = first_block
        with open(part_path, "ab" if resumed else "wb") as out:
            while block:
                out.write(block)
                done += len(block)
                if progress is not None:
                    progress(done, total)
                if is_cancelled is not None and is_cancelled():
                    raise DownloadCancelled(f"download of {url} cancelled; the next try resumes it",
                                            path=part_path)
                block = response.read(BLOCK_BYTES)
    return total is None or done >= total


def check_not_a_web_page(url: str, content_type: str, first_bytes: bytes) -> None:
    """DownloadError when the server answered with HTML (a login, error or 'moved' page) instead of a file."""
    if "html" in content_type.lower() or first_bytes.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
        raise DownloadError(f"{url} returned a web page ({content_type or 'HTML'}), not the model file: "
                            "the address may have moved or need a login")


def total_bytes(headers, offset: int) -> int | None:
    """The whole file's size from a (partial) response's headers (a mapping), or None when not given."""
    match = re.match(r"bytes \d+-\d+/(\d+)", headers.get("Content-Range", ""))
    if match:
        return int(match.group(1))
    length = headers.get("Content-Length")
    return offset + int(length) if length and length.isdigit() else None
