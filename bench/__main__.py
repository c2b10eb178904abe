"""Run every benchmark in turn with its defaults: `make bench` or `.venv/bin/python -m bench`.

One suite with its own options: `.venv/bin/python -m bench.imports --count 20000`.
"""

import importlib
import sys

SUITES = ("bench.imports", "bench.analysis", "bench.tiles")

if __name__ == "__main__":
    chosen = [f"bench.{name}" for name in sys.argv[1:]] or list(SUITES)
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        sys.argv = [name]  # each suite parses its own options; run it with its defaults
        importlib.import_module(name).main()
