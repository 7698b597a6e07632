"""Run every benchmark module (or those named on the command line) and print their figures."""
from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    selected = [n for n in names if not argv or any(a in n for a in argv)]
    failures = 0
    for name in selected:
        print(f"\n=== {name}", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main()
        except Exception as error:  # one broken benchmark must not hide the others' figures
            failures += 1
            print(f"FAILED: {type(error).__name__}: {error}", flush=True)
        print(f"--- {name}: {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
