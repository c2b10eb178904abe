"""Run every benchmark in turn with its defaults: `make bench` or `.venv/bin/python -m bench`.

One suite with its own options: `.venv/bin/python -m bench.imports --count 20000`.
A suite whose `main` returns non-zero (bench.edits, on a lost write) fails the whole run.
"""

import importlib
import sys

SUITES = ("bench.imports", "bench.analysis", "bench.tiles", "bench.edits")

if __name__ == "__main__":
    chosen = [f"bench.{name}" for name in sys.argv[1:]] or list(SUITES)
    failed = []
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        sys.argv = [name]  # each suite parses its own options; run it with its defaults
        if importlib.import_module(name).main():
            failed.append(name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")
