"""`python -m qgis_siammask COMMAND ...`: the headless entry point.

Each command lives in its own module under `qgis_siammask.core.commands` with `add_arguments(parser)`
and `run(args) -> int`; it is imported only when invoked so that `probe` never pays for torch.
"""
from __future__ import annotations

import argparse
import importlib
import re
import sys

from .errors import SiamMaskError

COMMANDS = {
    "track": "track objects in a video or a folder of frames, write JSON lines",
    "probe": "list a file's streams and telemetry coverage, print the first decoded record",
    "simulate": "fly a simulated camera over generated ground, write video, KLV, SRT and truth",
    "demo": "simulate a clip, track a vehicle with the default model, write a GeoPackage",
    "models": "list, download (the authors' SiamMask models) and convert model files",
    "batch": "track every video of a job file on a Dask cluster: a GeoPackage per job, summary.csv",
    "deps": "plan or install the plugin's Python packages into its own folder, never touching QGIS's",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qgis_siammask", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            _command_module(name).add_arguments(sub_parser)
    return parser


def _command_module(name: str):
    return importlib.import_module(f"qgis_siammask.core.commands.{name}")


def report_error(error: SiamMaskError) -> int:
    """Print a SiamMaskError for a command-line user (message, then details) and return exit status 2."""
    print(f"error: {error.user_message}", file=sys.stderr)
    if error.details:
        print(f"details: {error.details}", file=sys.stderr)
    return 2


NEGATIVE_NUMBER_LIST = re.compile(r"-\.?\d[\d.eE+-]*(,[-+]?\.?\d[\d.eE+-]*)+")


def attach_number_lists(argv: list[str]) -> list[str]:
    """`--box -50,-50,30,30` as `--box=-50,-50,30,30`: argparse takes a value starting with '-' for an
    option unless it is a single number, so a list of numbers starting with a negative one is attached;
    so is the value of `--pip-arg` (`--pip-arg --no-cache-dir`)."""
    attached: list[str] = []
    for arg in argv:
        if attached and attached[-1].startswith("--") and "=" not in attached[-1] \
                and (NEGATIVE_NUMBER_LIST.fullmatch(arg) or attached[-1] == "--pip-arg"):
            attached[-1] = f"{attached[-1]}={arg}"
        else:
            attached.append(arg)
    return attached


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(command).parse_args(attach_number_lists(argv))
    try:
        return int(_command_module(args.command).run(args) or 0)
    except SiamMaskError as error:
        return report_error(error)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
