"""GDAL's Python bindings in the mode this package's code is written for: errors as return values (None,
non-zero codes, `gdal.GetLastErrorMsg`), not exceptions, set for the duration of each call into GDAL.

The mode is state shared with QGIS and every other plugin: set globally, it would change their
behaviour; left unset, GDAL 3.8 and newer warn ("Neither osr.UseExceptions() nor osr.DontUseExceptions()
has been explicitly called", a FutureWarning in QGIS's log). The bindings' `ExceptionMgr` (GDAL 3.7 and
newer) sets it for the current thread only and restores it on exit; older bindings, which never warn,
get the same through explicit calls, restored after.
"""

from __future__ import annotations

import contextlib
import functools


@contextlib.contextmanager
def gdal_return_codes():
    """gdal, ogr and osr report errors by return value inside the block, whatever the caller's mode."""
    from osgeo import gdal, ogr, osr

    with contextlib.ExitStack() as stack:
        # osr first: before GDAL 3.7, UseExceptions() pushes an error handler on one stack shared by the
        # three modules (usually in the order gdal, ogr, osr) that only the reverse order can pop
        for module in (osr, ogr, gdal):
            stack.enter_context(_without_exceptions(module))
        yield


def with_gdal_return_codes(function):
    """`function` runs inside `gdal_return_codes()`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with gdal_return_codes():
            return function(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def _without_exceptions(module):
    manager = getattr(module, "ExceptionMgr", None)
    if manager is not None:
        with manager(useExceptions=False):
            yield
        return
    switched = False
    if module.GetUseExceptions():  # turned on by the caller: off for the block, if the stack allows
        try:
            module.DontUseExceptions()
            switched = True
        except RuntimeError:  # another module's handler lies above this one's: left as it is
            pass
    try:
        yield
    finally:
        if switched:
            module.UseExceptions()
