"""Run every benchmark in turn: `make bench` or `.venv/bin/python -m bench`."""

import importlib
import sys

SUITES = ("bench.imports", "bench.analysis", "bench.tiles")

if __name__ == "__main__":
    chosen = sys.argv[1:] or SUITES
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(name).main()
