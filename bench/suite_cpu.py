"""Where a command's CPU goes, by kind of process: the test suite by default.

    .venv/bin/python -m bench.suite_cpu                      # pytest -q -n 2, as make test
    .venv/bin/python -m bench.suite_cpu -- pytest -q tests/web -n 2

On the 2-core machine `make test` is bound by its two cores, so its time is its CPU seconds
over two: this says which processes spend them (the test workers with their live servers,
Chromium's renderer, browser and GPU processes, PostgreSQL, `geo-service` subprocesses...).
It reads /proc twice a second, so a process that lives less than half a second may be missed;
the machine's other services are listed too, counted from when the command started.
Not in `python -m bench`: it runs the whole test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[1]


def _kind(pid: str) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"
    if "chrom" in command:
        kind = re.search(r"--type=([\w-]+)", command)
        sub = re.search(r"--utility-sub-type=(\S+)", command)
        return "chromium " + (kind.group(1) if kind else "browser") + (f" {sub[1]}" if sub else "")
    if "postgres" in command:
        return "postgres"
    if "playwright" in command:
        return "playwright driver"
    if "execnet" in command or "exec(eval(sys.stdin.readline()))" in command:
        return "pytest worker (tests, live server)"
    if "pytest" in command:
        return "pytest"
    if "geo-service" in command or "geo_service" in command:
        return "geo-service subprocess"
    return name or command.split(" ")[0]


def _cpu() -> dict[tuple[str, str], float]:
    """CPU seconds of every process now, keyed by (pid, start time): pids are reused."""
    seen = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seen[(pid, fields[19])] = (int(fields[11]) + int(fields[12])) / TICK
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="*", help="default: pytest -q -n 2")
    args = parser.parse_args()
    command = args.command or ["pytest", "-q", "-n", "2", "-p", "no:cacheprovider"]
    if command[0] == "pytest":
        command = [sys.executable, "-m", *command]
    before = _cpu()
    kinds: dict[tuple[str, str], str] = {}
    last: dict[tuple[str, str], float] = {}
    started = time.monotonic()
    run = subprocess.Popen(command, cwd=ROOT)
    while run.poll() is None:
        for key, seconds in _cpu().items():
            if key not in kinds:
                kinds[key] = _kind(key[0])
            last[key] = seconds
        time.sleep(0.5)
    wall = time.monotonic() - started
    spent: Counter[str] = Counter()
    for key, seconds in last.items():
        spent[kinds[key]] += seconds - before.get(key, 0.0)
    print(f"\n{' '.join(command)}: exit {run.returncode}, {wall:.0f} s")
    print(f"CPU: {sum(spent.values()):.0f} s on {os.cpu_count()} cores")
    for kind, seconds in spent.most_common(15):
        if seconds >= 0.5:
            print(f"{seconds:8.1f} s  {kind}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
