"""Editing through a database restart: no acknowledged write lost, no 5xx outside the outage.

    .venv/bin/python -m bench.edits [--seconds 180] [--editors 4] [--readers 4]

Starts its own `geo-service serve --demo` on a free loopback port, with a data folder of its own
(so its own embedded cluster), creates an editor key with `geo-service keys create`, then runs
for `seconds`: editors read a mine site and PATCH it with `If-Match` set to the ETag they read
(a 412 is a normal refusal: someone else changed it first) or POST a new site; readers fetch
pages of items and vector tiles. Half-way through it restarts the database with
`geo-service db stop` and `db start`, holding the old port meanwhile so that the cluster comes
back on another one, as it does when the old port lingers in TIME_WAIT.

Afterwards it checks that every acknowledged create (201) is there and every acknowledged PATCH
(200) is a version of its feature, now or in the history, with the attribute it set; and that
no 5xx (or dropped connection) happened outside the outage window, from the stop until the
first success of a request sent after the restart. Clients retry every 0.1 s during the outage
rather than honouring Retry-After, so that the recovery time is measured to 0.1 s.
Exit code 1 when a write is missing, a 5xx happened outside the outage, a 503 came without
Retry-After, or service never came back.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import morecantile

from geo_service.db.local import LocalCluster

GEO_SERVICE = Path(sys.executable).with_name("geo-service")
BBOX = (-9.6, 11.4, -7.4, 13.0)  # the demo region, lon/lat
LAYER = "mine-sites"
GEOJSON = "application/geo+json"
START_BOUND = 300.0  # seconds for `serve --demo` to initialise the cluster and load the demo
COMMAND_BOUND = 120.0  # seconds for one `geo-service db ...` or `keys ...` command
RETRY_PAUSE = 0.1  # seconds between a client's retries after a 503
TIMEOUT = 30.0  # seconds per HTTP request
# Settings of the caller that must not reach the service started here.
_OUTER = ("GEO_SERVICE_DATABASE_URL", "GEO_SERVICE_HOME", "GEO_SERVICE_PORT", "GEO_SERVICE_HOST")


@dataclass
class Exchange:
    """One request: what, its status (0: no answer), when it was sent and answered, and
    whether a 503 said when to retry."""

    what: str
    status: int
    sent: float
    answered: float
    retry_after: bool


@dataclass
class Run:
    """What the clients saw and what the server acknowledged, shared by every thread."""

    base: str
    key: str
    ids: list[int]
    deadline: float
    exchanges: list[Exchange] = field(default_factory=list)
    patched: list[tuple[int, int, int]] = field(default_factory=list)  # (id, version, workers)
    created: list[int] = field(default_factory=list)
    # A value per PATCH, so that each version can be recognised (next() on it is atomic).
    workers: Iterator[int] = field(default_factory=lambda: itertools.count(1001))

    def send(
        self, client: httpx.Client, what: str, method: str, url: str, **kw: Any
    ) -> httpx.Response | None:
        """The response, or None when the connection failed; recorded either way."""
        sent = time.monotonic()
        try:
            response = client.request(method, url, **kw)
        except httpx.TransportError:
            response = None
        status = response.status_code if response is not None else 0
        retry_after = response is not None and "Retry-After" in response.headers
        self.exchanges.append(Exchange(what, status, sent, time.monotonic(), retry_after))
        if response is None or response.status_code == 503:
            time.sleep(RETRY_PAUSE)
        return response


@dataclass
class Restart:
    """When `db stop` was run, when it returned, when `db start` returned; the ports."""

    stopping: float
    stopped: float
    started: float
    old_port: int
    new_port: int


def _editor(run: Run, seed: int) -> None:
    rng = random.Random(seed)
    auth = {"Authorization": f"Bearer {run.key}"}
    with httpx.Client(base_url=run.base, headers=auth, timeout=TIMEOUT) as client:
        while time.monotonic() < run.deadline:
            if rng.random() < 0.25:
                lon, lat = rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3])
                body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                        "properties": {"name": f"Bench site {seed}-{rng.randrange(10**9)}",
                                       "workers": 10}}  # fmt: skip
                created = run.send(client, "create", "POST", f"/collections/{LAYER}/items",
                                   json=body, headers={"Content-Type": GEOJSON})  # fmt: skip
                if created is not None and created.status_code == 201:
                    run.created.append(int(created.json()["id"]))
                continue
            fid = rng.choice(run.ids)
            read = run.send(client, "read", "GET", f"/collections/{LAYER}/items/{fid}")
            if read is None or read.status_code != 200:
                continue
            workers = next(run.workers)
            patch = run.send(
                client, "patch", "PATCH", f"/collections/{LAYER}/items/{fid}",
                json={"properties": {"workers": workers}},
                headers={"Content-Type": GEOJSON, "If-Match": read.headers["ETag"]},
            )  # fmt: skip
            if patch is not None and patch.status_code == 200:
                run.patched.append((fid, int(patch.headers["ETag"].strip('"')), workers))


def _reader(run: Run, seed: int) -> None:
    rng = random.Random(seed)
    tms = morecantile.tms.get("WebMercatorQuad")
    tiles = list(tms.tiles(*BBOX, zooms=[6, 8, 10, 12]))
    with httpx.Client(base_url=run.base, timeout=TIMEOUT) as client:
        while time.monotonic() < run.deadline:
            if rng.random() < 0.5:
                offset = rng.randrange(max(len(run.ids) - 50, 1))
                run.send(client, "items", "GET", f"/collections/{LAYER}/items",
                         params={"limit": 50, "offset": offset})  # fmt: skip
            else:
                t = rng.choice(tiles)
                run.send(client, "tile", "GET", f"/tiles/{LAYER}/{t.z}/{t.x}/{t.y}.mvt")


def _command(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(GEO_SERVICE), *args], env=env, capture_output=True, text=True,
        timeout=COMMAND_BOUND, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"geo-service {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _hold(port: int) -> socket.socket | None:
    """A listening socket on the stopped server's port, so that its restart takes another one;
    None when the port is busy still (connections of the old server closing hold it as well)."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", port))
    except OSError:
        holder.close()
        return None
    holder.listen()
    return holder


def _restart(env: dict[str, str], cluster: LocalCluster) -> Restart:
    """Stop and start the database through the CLI, the old port held in between."""
    old = cluster.recorded_port() or 0
    stopping = time.monotonic()
    _command(env, "db", "stop")
    stopped = time.monotonic()
    holder = _hold(old)
    try:
        _command(env, "db", "start")
    finally:
        if holder is not None:
            holder.close()
    return Restart(stopping, stopped, time.monotonic(), old, cluster.recorded_port() or 0)


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(GEO_SERVICE), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + START_BOUND
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"geo-service serve exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"geo-service serve did not answer within {START_BOUND:g} s")


def _ids(base: str) -> list[int]:
    page = httpx.get(f"{base}/collections/{LAYER}/items", params={"limit": 10000}, timeout=TIMEOUT)
    page.raise_for_status()
    return [int(f["id"]) for f in page.json()["features"]]


def _missing(run: Run) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Acknowledged creates not found, and acknowledged PATCHes whose version is not there."""
    auth = {"Authorization": f"Bearer {run.key}"}
    with httpx.Client(base_url=run.base, headers=auth, timeout=TIMEOUT) as client:
        lost_creates = [
            fid for fid in run.created
            if client.get(f"/collections/{LAYER}/items/{fid}").status_code != 200
        ]  # fmt: skip
        versions: dict[int, dict[int, object]] = {}
        for fid in {fid for fid, _, _ in run.patched}:
            history = client.get(f"/collections/{LAYER}/items/{fid}/history")
            history.raise_for_status()
            versions[fid] = {
                v["version"]: v["properties"].get("workers") for v in history.json()["versions"]
            }
    lost_patches = [
        (fid, version, workers) for fid, version, workers in run.patched
        if versions[fid].get(version) != workers
    ]  # fmt: skip
    return lost_creates, lost_patches


def _report(run: Run, restart: Restart, t0: float, log: Path) -> int:
    started = restart.started
    after = [e for e in run.exchanges if e.sent >= started and 200 <= e.status < 300]
    recovered = min((e.answered for e in after), default=None)
    end = recovered if recovered is not None else run.deadline
    failed = [e for e in run.exchanges if e.status == 0 or e.status >= 500]
    outside = [e for e in failed if e.answered < restart.stopping or e.sent > end]
    lost_creates, lost_patches = _missing(run)

    print(f"\nrequests: {len(run.exchanges)} in {run.deadline - t0:.0f} s")
    statuses = Counter((e.what, e.status) for e in run.exchanges)
    print("| request | status | count |\n|---|---:|---:|")
    for (what, status), n in sorted(statuses.items()):
        print(f"| {what} | {status or 'no answer'} | {n} |")
    old, new = restart.old_port, restart.new_port
    print(f"database restart: port {old} -> {new}" + (" (same port!)" if old == new else "")
          + f"; `db stop` took {restart.stopped - restart.stopping:.2f} s, "
          f"`db start` {started - restart.stopped:.2f} s")  # fmt: skip
    print(f"outage window: {restart.stopping - t0:.2f} s to {end - t0:.2f} s after the start "
          f"({end - restart.stopping:.2f} s)")  # fmt: skip
    if recovered is None:
        print("recovery: NONE - no request sent after the restart succeeded")
    else:
        print(f"recovery time: {recovered - started:.2f} s from `db start` returning "
              "to the first success")  # fmt: skip
    print(f"5xx or no answer: {len(failed)} in the outage, {len(outside)} outside it")
    unhinted = sum(1 for e in run.exchanges if e.status == 503 and not e.retry_after)
    print(f"503 without Retry-After: {unhinted}")
    print(f"acknowledged creates present: {len(run.created) - len(lost_creates)} / "
          f"{len(run.created)}")  # fmt: skip
    print(f"acknowledged PATCH versions present: {len(run.patched) - len(lost_patches)} / "
          f"{len(run.patched)} (412 refusals: {statuses[('patch', 412)]})")  # fmt: skip
    for e in outside[:10]:
        print(f"  outside the outage: {e.what} {e.status or 'no answer'} at {e.sent - t0:.2f} s")
    for fid, version, workers in lost_patches[:10]:
        print(f"  lost PATCH: feature {fid} version {version} (workers={workers})")
    ok = not (recovered is None or outside or unhinted or lost_creates or lost_patches)
    if outside:
        errors = {
            line[:160] for line in log.read_text().splitlines() if re.match(r"\w+Error: ", line)
        }
        for line in sorted(errors)[:5]:
            print(f"  the server logged: {line}")
    print("result: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the load")
    parser.add_argument("--editors", type=int, default=4)
    parser.add_argument("--readers", type=int, default=4)
    args = parser.parse_args()

    # A folder the cluster's unprivileged user can reach (mkdtemp makes it private).
    folder = Path(tempfile.mkdtemp(prefix="geo-bench-edits-"))
    folder.chmod(0o755)
    home = folder / "var"
    env = {k: v for k, v in os.environ.items() if k not in _OUTER}
    env["GEO_SERVICE_HOME"] = str(home)
    cluster = LocalCluster(home)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = None
    try:
        t0 = time.monotonic()
        server = _serve(env, port, folder / "serve.log")
        key = _command(env, "keys", "create", "--role", "editor", "--name", "bench-editor")
        run = Run(base, key.strip().splitlines()[-1], _ids(base), 0.0)
        print(f"serving {len(run.ids)} {LAYER} on {base} after {time.monotonic() - t0:.1f} s; "
              f"{args.editors} editors, {args.readers} readers for {args.seconds:g} s")  # fmt: skip
        t0 = time.monotonic()
        run.deadline = t0 + args.seconds
        threads = [threading.Thread(target=_editor, args=(run, i)) for i in range(args.editors)]
        threads += [
            threading.Thread(target=_reader, args=(run, 100 + i)) for i in range(args.readers)
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds / 2)
        restart = _restart(env, cluster)
        for thread in threads:
            thread.join(timeout=args.seconds + 2 * TIMEOUT)
        return _report(run, restart, t0, folder / "serve.log")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)  # it stops the cluster it started
            try:
                server.wait(timeout=COMMAND_BOUND)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if cluster.initialized():
            cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
