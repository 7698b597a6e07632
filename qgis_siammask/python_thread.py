"""Run a function on a thread that Python started, from a thread that Qt started (a QgsTask's run, a
Processing algorithm run in the background), and wait for it.

pyproj 3.7.0 to 3.7.2 (QGIS 3.40's on Debian 13 and others) keeps each thread's PROJ context under a
native thread key but frees it with the thread's Python state: on a pooled Qt thread that state goes
when the task's `run` returns, the key does not, and the next task on that thread crashes QGIS in
`pyproj.CRS()` (pyproj issue 1509). A thread of Python's own starts with a fresh key and takes its
context with it when it ends.
"""

from __future__ import annotations

import threading


def in_python_thread(function, *args, **kwargs):
    """`function(*args, **kwargs)` on a new Python thread; its result, or its exception raised here."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 (handed to the caller's thread)
            outcome["error"] = error

    worker = threading.Thread(target=target, name=getattr(function, "__name__", "worker"), daemon=True)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
