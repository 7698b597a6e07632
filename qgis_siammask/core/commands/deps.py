"""`python -m qgis_siammask deps plan|install --target DIR`: the plugin's Python packages, headless.

`plan` resolves with pip (nothing installed) and prints what would go into DIR, with download sizes;
`install` does it. Run with QGIS's Python from the folder holding `qgis_siammask`. What: the plugin's
requirements this Python lacks (or the `--package SPEC`s); a package this Python already has is never
installed, upgraded or shadowed (its version is a pip constraint). Exit status 0, or 2 when pip failed
(DIR is then unchanged).
"""
from __future__ import annotations

import json
import signal
import sys
import tempfile
from pathlib import Path

from ..packages.deps import BATCH_REQUIREMENTS, REQUIREMENTS, check_dependencies
from ..packages.installer import InstallError, Installer, PipOptions, canonical_name, read_constraints


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=("plan", "install"))
    parser.add_argument("--package", action="append", default=[], dest="specs", metavar="SPEC",
                        help="a pip requirement (repeatable; default: the plugin's requirements this Python "
                        "lacks)")
    parser.add_argument("--target", type=Path, required=True, help="the plugin's package folder")
    parser.add_argument("--index-url", default="", help="package index (a mirror; default PyPI)")
    parser.add_argument("--extra-index-url", action="append", default=[], help="another index (repeatable)")
    parser.add_argument("--find-links", action="append", default=[], help="a local wheel folder (repeatable)")
    parser.add_argument("--pip-arg", action="append", default=[], help="one more pip argument (repeatable)")
    parser.add_argument("--torch-index-url", default=None,
                        help="PyTorch's index ('' for the main one; default: CPU or CUDA wheels by the GPU)")
    parser.add_argument("--constraint", action="append", default=[], type=Path,
                        help="name==version lines of packages QGIS has that this Python may not see")
    parser.add_argument("--with-batch", action="store_true",
                        help="also Dask, for batch tracking (kept once in DIR)")
    parser.add_argument("--json", type=Path, default=None, help="write the plan as JSON to this file")


def options_from(args) -> PipOptions:
    return PipOptions(args.index_url, tuple(args.extra_index_url), tuple(args.find_links),
                      tuple(args.pip_arg), args.torch_index_url)


def run(args) -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # a cancelled dialog: pip stopped, the target unchanged
    installer = Installer(args.target, options_from(args), log=lambda line: print(line, flush=True))
    for constraints in args.constraint:
        installer.installed.update(read_constraints(constraints))
    # the folder is replaced as a whole: Dask stays in it once installed
    with_batch = args.with_batch or (installer.target / "distributed").is_dir()
    specs = args.specs or _missing_specs(installer.installed, with_batch)
    try:
        with tempfile.TemporaryDirectory(prefix="siammask-plan-") as work:
            plan = installer.plan(specs, work)
        print("\n".join(plan.lines()), flush=True)
        if args.json is not None:
            args.json.write_text(json.dumps(plan.to_json(), indent=1), encoding="utf-8")
        if args.action == "install":
            folder = installer.install(plan)
            print(f"Installed into {folder}. Restart QGIS to use them.", flush=True)
    except InstallError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    return 0


def _missing_specs(installed: dict[str, str], with_batch: bool) -> list[str]:
    """The requirements this Python (the target left out) lacks; one QGIS has in an unsuitable version is
    named and left alone: replacing it would break QGIS."""
    report = check_dependencies(REQUIREMENTS + (BATCH_REQUIREMENTS if with_batch else ()))
    specs = []
    for problem in report.problems:
        name = canonical_name(problem.requirement.distribution)
        if problem.reason != "missing" or name in installed:
            print(f"warning: {problem.requirement.module} is QGIS's own ({problem.reason}): left as it is",
                  file=sys.stderr)
        else:
            specs.append(problem.requirement.pip_spec)
    return specs


def _interrupt(signum, frame):
    raise KeyboardInterrupt
