"""A seeded fault campaign against the `url` transport: thousands of faults (faultproxy.py)
over the script's downloads and uploads, the manifest, and the driver's own transfers (uploading
the inputs, fetching the manifest and the outputs), with every HTTP client the script can use,
both store kinds (a PUT prefix on nginx, S3 POST on SeaweedFS) and every executor that moves
bytes (the script alone, ``local``, ``podman``, ``slurm``, ``tes``), and the driver's transfers
beside the tes executor's ``platform`` transport (``tes-platform``).

    report = Campaign(seed=7, faults=1000, stores=..., base=Path("/tmp/c")).run()
    print(report.text)            # faults per kind, place and lane, outcomes, violations
    report.failures               # one paragraph per run that went wrong, with its replay
    scenario(7, 23).describe()    # "run 23 (seed 7): tes lane, put store, image
    #   docker.io/library/busybox:latest, ..., mode below, 8 faults planned": its run submits
    # POST http://127.0.0.1:8000/ga4gh/tes/v1/tasks {"executors": [{"image": "docker.io/library/
    #   busybox:latest", "command": ["/bin/sh", "-c", SCRIPT, "wfrewrite", "all"]}], ...}, and
    #   in Funnel's container SCRIPT GETs http://127.0.0.1:<proxy>/wfr-faults/fc7r23-<hex>/in/
    #   0/empty ..., through the proxy, with BusyBox's wget

The lanes (``LANE_CYCLE``, one per run index): ``script`` runs the compiled script under a
shell of the host with one client set on its PATH; ``local``, ``podman`` and ``slurm`` run it
with that executor; ``tes`` submits it to the test bed's Funnel (``TES_URL``) with
``--transport url``. Funnel runs its tasks with podman, which puts containers in the host's
network namespace unless told otherwise (``netns = "host"``, shared/testbed/podman-setup.sh),
and its run template names no network: so the script in Funnel's container reaches the proxy on
127.0.0.1 as the podman lane's does, with the image's client. A TES run's exit code is its
manifest's; the script's own, and its stderr, are read from the server's log of the task.
``tes-platform`` gives the tes executor its ``platform`` transport with an ``s3://`` prefix
of the run's own on SeaweedFS (inputs by content under it, ``in/<sha1>``): the driver's uploads
of the inputs and its fetches of the outbox Funnel uploaded (the manifest, then what it lists)
pass the proxy, *Funnel's own S3 transfers go straight to SeaweedFS*, so the lane's runs are
``below`` or ``exhaust`` on those two places only, and in the store the outbox must be gone
once the driver has fetched it (or failed to). A TES lane is skipped where no server answers,
and from the moment one stops answering during a run (Funnel 0.12.2 dies now and then of a
data race in its S3 download's debug logging: its log says ``fatal error: concurrent map
iteration and map write``), those runs counted as skipped, not as wfrewrite's failures;
given ``revive``, the campaign starts the server again and runs them once more.

Each run is drawn from ``(seed, index)`` alone (``scenario``): a lane, a store, a client (or an
image), a shell, a retry budget, transfers at a time, and a *mode*:

- ``below``: faults on any object, at most ``budget - 1`` on each (the last attempt goes
  through): the run must succeed, every output byte-identical, fetched so by the driver.
- ``exhaust``: one target gets a fault on every attempt: the run must fail, with the status
  its place calls for (``staging_failed``, ``upload_failed`` without that object in the
  manifest, no manifest, or the driver's error), the message naming the target and the attempt.
- ``fatal``: the target's last fault is an expired URL (403, never retried).
- ``corrupt``: the target's upload reaches the store short or altered while the store answers
  2xx (no HTTP client can tell): the driver must refuse it by size or sha1, naming it.
- ``expire``: (S3) presigned URLs that live a few seconds; the target is held until they have
  expired, then forwarded to SeaweedFS, which refuses it: the run fails saying so.

Every run checks, beside its predicted outcome: the command saw every input whole (it records
their sha1s; a staging failure means it never ran), no input that is not whole has its final
name, every object the manifest lists is all there in the store (read directly, past the
proxy) and is what the command wrote, and the driver never accepts an object whose size or sha1
differs. A fault depends only on the run, the object and the attempt, so ``runs=[17]`` with the
same seed replays run 17 exactly.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import funnel_last_words
from faultproxy import FAMILY, FaultProxy, Schedule

from wfrewrite.compiler.diagnostics import WfError
from wfrewrite.compiler.emit import emit
from wfrewrite.compiler.plan import Capture, Command, Layout, StageItem, TaskPlan, check
from wfrewrite.runtime.options import Options
from wfrewrite.runtime.transport import url as transport_url
from wfrewrite.runtime.transport.stores import VERIFY_ATTEMPTS

# -- the task every run runs --------------------------------------------------------------------

INPUTS: dict[str, bytes] = {
    "empty": b"",
    "a.txt": b"hello\nworld\n",
    "b c.bin": bytes(range(256)) * 1200 + b"\x00\x00tail",
    "ünï %20.txt": "ünïcødé\n".encode(),
    "big.bin": random.Random(7).randbytes(1 << 20),
}
SUMS = "".join(f"{hashlib.sha1(d).hexdigest()}  in/{n}\n" for n, d in INPUTS.items()).encode()
COMMAND = (
    "for f in empty a.txt 'b c.bin' 'ünï %20.txt' big.bin; do sha1sum \"in/$f\" || exit 9; "
    "done > sums.txt\n"
    "cat in/a.txt 'in/ünï %20.txt' > out.txt\n"
    "mkdir -p d/sub && cp 'in/b c.bin' 'd/sub/b c.bin' && : > d/empty\n"
    "cp 'in/ünï %20.txt' 'd/ü %41.txt'\n"
    "cp in/big.bin 'x y.bin'\n"
    "seq 0 29999 > gen.txt\n"
    "echo made >&2\n"
    "echo done\n"
)
CAPTURES = (
    Capture(output="s", kind="path", pattern="sums.txt"),
    Capture(output="o", kind="path", pattern="out.txt"),
    Capture(output="g", kind="glob", pattern="*.bin"),
    Capture(output="d", kind="directory", pattern="d"),
    Capture(output="n", kind="path", pattern="gen.txt"),
)
# what the command writes, by path under the task's root (all of it in the manifest)
OUTPUTS: dict[str, bytes] = {
    "work/sums.txt": SUMS,
    "work/out.txt": INPUTS["a.txt"] + INPUTS["ünï %20.txt"],
    "work/x y.bin": INPUTS["big.bin"],
    "work/d/sub/b c.bin": INPUTS["b c.bin"],
    "work/d/empty": b"",
    "work/d/ü %41.txt": INPUTS["ünï %20.txt"],  # a name that URLs must carry as it is
    "work/gen.txt": "".join(f"{i}\n" for i in range(30000)).encode(),
}
LOGS = {"stdout.txt": b"done\n", "stderr.txt": b"made\n"}
MANIFEST = "wfrewrite/manifest.json"
IN_KEYS = [f"{n}/{name}" for n, name in enumerate(INPUTS)]  # under the run's in/
# the platform transport keeps each input by content, in/<sha1> under the run's prefix
PLATFORM_IN_KEYS = [hashlib.sha1(d).hexdigest() for d in INPUTS.values()]
IN_NAME = {  # key -> the input's name
    k: name for keys in (IN_KEYS, PLATFORM_IN_KEYS) for k, name in zip(keys, INPUTS, strict=True)
}
UP_KEYS = [*OUTPUTS, *LOGS]  # under the run's out/, before the manifest
# what the driver reads of the outputs: the manifest says what an empty file holds
DGET_OUTPUTS = [k for k, data in OUTPUTS.items() if data]
# the platform lane's outbox: every image has tar, and every file is at most 1 MiB, so the
# manifest, the outputs and the logs come as one tar (runtime/sh/transport_platform.sh), the
# one object the driver reads
BUNDLE = "wfrewrite/bundle.tar"

# -- faults, by where they can happen -----------------------------------------------------------

# Faults the client always sees as a failed attempt, with their weights.
SURE_GET = {
    "drop": 2,
    "500": 1,
    "503": 2,
    "truncate": 2,
    "short_body": 1.5,
    "corrupt": 1,
    "stall": 0.4,
    "reset": 1.5,
    "lose_response": 1.5,
}
SURE_EMPTY_GET = {"drop": 2, "500": 1, "503": 2, "early_503": 1, "lose_response": 1.5}
SURE_UP = {
    "drop": 2,
    "500": 1,
    "503": 2,
    "early_503": 1,
    "truncate": 2,
    "stall": 0.4,
    "reset": 2,
    "lose_response": 1.5,
    "lost_503": 1.5,
}
# the driver waits long for an answer (the proxy closes a stall after stall_s): fewer stalls
SURE_DPUT = {**SURE_UP, "stall": 0.15}
SURE_DGET = {**SURE_GET, "stall": 0.15}
# what the driver fetches without a known size (the manifest, parsed; the logs): only faults
# that break HTTP's framing or the manifest's JSON
SURE_DGET_MANIFEST = {k: v for k, v in SURE_DGET.items() if k != "corrupt"}
SURE_DGET_LOG = {k: v for k, v in SURE_DGET.items() if k not in ("corrupt", "short_body")}
# Faults that need not fail the attempt (slow, duplicated): only ever last in a list.
BENIGN = {"drip": 1, "dup_request": 1, "dup_response": 1}
# Download faults that leave a whole HTTP answer with a spoiled body.
SPOILING = {"short_body", "corrupt"}
# Upload faults after which the object is in the store although the client saw a failure.
LANDS = {"lose_response", "lost_503", "stall"}

# The driver's own retry budgets: HttpStore's ``retrying`` makes 5 attempts; below it, at most
# this many faults per object (boto3's attempts are its own: fewer, to stay below them).
DRIVER_BELOW = {"put": 3, "post": 2}
DRIVER_EXHAUST = {"put": 5, "post": 30}

SCRIPT_CLIENTS = ["curl", "wget", "busybox", "python", "perl", "bash"]
SHELLS = ["dash", "bash", "busybox"]
PODMAN_IMAGES = {  # image -> the client the script finds there
    "docker.io/library/busybox:latest": "busybox",
    "docker.io/library/debian:bookworm-slim": "perl",
    "docker.io/library/python:3-slim": "python",
}
# One lane per run index, in this cycle: mostly the script alone (every client, every shell),
# then the executors. (A lane put in place of a script run changes no other run of a seed.)
LANE_CYCLE = (
    ["script"] * 3 + ["tes"] + ["script"] * 3 + ["podman"] + ["script"] * 3 + ["tes-platform"]
    + ["script"] * 2 + ["local"] + ["script"] * 4 + ["slurm"]
)  # fmt: skip
LANES = ("script", "local", "podman", "slurm", "tes", "tes-platform")
TES_LANES = ("tes", "tes-platform")
# the test bed's Funnel; its tasks run in podman on the host's network, so they reach the proxy
TES_URL = "http://127.0.0.1:8000"
# where the platform lane's faults can be: the driver's transfers (Funnel's go straight to
# SeaweedFS)
DRIVER_OPS = ("dput", "dget")
MODES = {"below": 0.5, "exhaust": 0.27, "fatal": 0.08, "corrupt": 0.08, "expire": 0.07}
STALL = 2  # the script's stall timeout (seconds)
# WFREWRITE_FAULT_TRACE=1: the script lane's shells run with -x (its trace in runNNNNN/script.stderr)
TRACE = ["-x"] if os.environ.get("WFREWRITE_FAULT_TRACE") else []
EXPIRES = 5  # presigned URLs' lifetime in ``expire`` runs (seconds)


def _batched(sc: Scenario, op: str, rel: str) -> bool:
    """Whether the script's first attempt at this object is in a batch of curl's (on a kept-alive
    connection: transport_url.sh's wf_url_curl_batch)."""
    curl = sc.client == "curl" and sc.image is None
    return curl and rel != MANIFEST and (op == "get" or (op == "up" and sc.store == "put"))


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


@dataclass
class Scenario:
    seed: int
    index: int
    lane: str  # script | local | podman | slurm | tes | tes-platform
    store: str  # put (nginx) | post (SeaweedFS)
    client: str  # the client set (script lane), the image's client, "curl" (the host's), or
    # "funnel" (tes-platform: Funnel moves the task's bytes)
    image: str | None
    shell: str
    retries: int
    parallel: int
    mode: str
    target: tuple[str, str] | None  # (op, rel)
    faults: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"fc{self.seed}r{self.index}"

    @property
    def planned(self) -> int:
        return sum(len(v) for v in self.faults.values())

    @property
    def estimate(self) -> int:
        """The faults this run is likely to inject (boto3 gives up on its own terms)."""
        n = self.planned
        if self.target and self.target[0] in ("dput", "dget") and self.mode == "exhaust":
            n -= max(0, len(self.faults[self.target]) - 5)
        return n

    def describe(self) -> str:
        where = f"image {self.image}" if self.image else f"client {self.client}"
        target = f", target {self.target[0]} {self.target[1]}" if self.target else ""
        return (
            f"run {self.index} (seed {self.seed}): {self.lane} lane, {self.store} store, {where}, "
            f"shell {self.shell}, retries {self.retries}, parallel {self.parallel}, "
            f"mode {self.mode}{target}, {self.planned} faults planned"
        )


def scenario(seed: int, index: int) -> Scenario:
    """Run ``index`` of the campaign ``seed`` (a function of the two alone)."""
    rng = random.Random(f"wfrewrite-faults:{seed}:{index}")
    lane = LANE_CYCLE[index % len(LANE_CYCLE)]
    platform = lane == "tes-platform"
    store = rng.choice(["put", "post"])
    if platform:
        store = "post"  # the platform transport's store is S3
    image = None
    if lane == "script":
        client = rng.choice(SCRIPT_CLIENTS)
        shell = "busybox" if client == "busybox" else rng.choice(SHELLS)
    elif lane in ("podman", "tes", "tes-platform"):
        image = rng.choice(sorted(PODMAN_IMAGES))
        client, shell = ("funnel" if platform else PODMAN_IMAGES[image]), "image"
    else:
        client, shell = "curl", "host"
    retries = rng.choice([2, 3, 3, 4])
    parallel = rng.choice([1, 2, 4])
    mode = _pick(rng, MODES)
    if mode == "expire" and (store != "post" or lane != "script"):
        mode = "fatal"
    if platform and mode != "below":  # no transfer of the script's: its places cannot be
        mode = "exhaust"
    sc = Scenario(seed, index, lane, store, client, image, shell, retries, parallel, mode, None)
    dput_keys = PLATFORM_IN_KEYS if platform else IN_KEYS
    sizes = {("get", k): len(INPUTS[IN_NAME[k]]) for k in IN_KEYS}
    sizes.update({("dput", k): len(INPUTS[IN_NAME[k]]) for k in dput_keys})
    for k, data in {**OUTPUTS, **LOGS}.items():
        sizes[("up", k)] = sizes[("dget", k)] = len(data)
    sizes[("up", MANIFEST)] = sizes[("dget", MANIFEST)] = sizes[("dget", BUNDLE)] = 1

    def sure(op: str, rel: str) -> dict[str, float]:
        empty = sizes[(op, rel)] == 0
        if op == "get":
            return SURE_EMPTY_GET if empty else SURE_GET
        if op == "up":
            return SURE_UP
        if op == "dput":
            return SURE_DPUT
        if rel == MANIFEST:
            return SURE_DGET_MANIFEST
        if rel in LOGS:
            return SURE_DGET_LOG
        return SURE_EMPTY_GET if empty else SURE_DGET

    def budget(op: str) -> int:
        return DRIVER_BELOW[store] + 1 if op in ("dput", "dget") else retries

    # the target, and which other objects may get faults: those whose transfers are sure to
    # happen whatever the target's failure stops (so that planned faults are injected faults)
    up_keys = [("up", k) for k in UP_KEYS]
    everything = (
        [("dput", k) for k in dput_keys]
        + [("get", k) for k in IN_KEYS]
        + up_keys
        + [("up", MANIFEST), ("dget", MANIFEST)]
        + [("dget", k) for k in [*DGET_OUTPUTS, *LOGS]]
    )
    if platform:
        everything = [k for k in everything if k[0] != "dget"] + [("dget", BUNDLE)]
    if mode == "below":
        background = everything
    elif mode == "expire":
        sc.target = rng.choice(
            [("get", rng.choice(IN_KEYS)), ("up", rng.choice(UP_KEYS)), ("up", MANIFEST)]
        )
        sc.faults[sc.target] = ["hold"]
        return sc
    else:
        if mode == "corrupt":
            nonempty = [k for k in OUTPUTS if OUTPUTS[k]]
            sc.target = ("up", rng.choice(nonempty)) if rng.random() < 0.8 else ("up", MANIFEST)
        else:
            places = {"get": 3, "up": 3, "manifest": 1.5}
            if mode == "exhaust":
                places.update(dput=1.2, dget=1.3)
            if platform:
                places = {"dput": 1.2, "dget": 1.3}
            place = _pick(rng, places)
            if place == "get":
                sc.target = ("get", rng.choice(IN_KEYS))
            elif place == "up":
                sc.target = ("up", rng.choice(UP_KEYS))
            elif place == "manifest":
                sc.target = ("up", MANIFEST)
            elif place == "dput":
                sc.target = ("dput", rng.choice(dput_keys))
            else:
                sc.target = ("dget", BUNDLE if platform else rng.choice(DGET_OUTPUTS))
        op, rel = sc.target
        if op == "dput":
            background = [("dput", k) for k in dput_keys[: dput_keys.index(rel)]]
        elif op == "get":
            background = [("dput", k) for k in IN_KEYS] + [("up", k) for k in LOGS]
            background += [("up", MANIFEST), ("dget", MANIFEST)]
        elif op == "up" and rel != MANIFEST:
            background = [("dput", k) for k in IN_KEYS] + [("get", k) for k in IN_KEYS]
            background += [("up", MANIFEST), ("dget", MANIFEST)]
        elif op == "up":  # the manifest
            background = [("dput", k) for k in IN_KEYS] + [("get", k) for k in IN_KEYS]
            background += up_keys
            if mode != "corrupt":
                background.append(("dget", MANIFEST))  # there when an answer was lost
        else:  # dget of an output (or of the bundle)
            background = [("dput", k) for k in dput_keys] + [("get", k) for k in IN_KEYS]
            background += [*up_keys, ("up", MANIFEST)]
            background += [] if platform else [("dget", MANIFEST)]
        background = [b for b in background if b != sc.target]
        # the target's faults
        if mode == "corrupt":
            kind = (
                "short_store" if rel == MANIFEST else rng.choice(["short_store", "corrupt_store"])
            )
            sc.faults[sc.target] = [kind]
        elif mode == "exhaust" and op in ("dput", "dget"):
            # faults that fail a read outright (a spoiled body would be read again: the
            # driver's budget then multiplies, see url.VERIFY_ATTEMPTS)
            kinds = {k: v for k, v in sure(op, rel).items() if k not in SPOILING}
            sc.faults[sc.target] = [_pick(rng, kinds) for _ in range(DRIVER_EXHAUST[store])]
        elif mode == "exhaust":
            # curl's batch (the first attempt at each object, one connection) may send a
            # request again by itself when a reused connection dies without an answer: one
            # fault more, so that the target fails all the same
            n = retries + (1 if _batched(sc, op, rel) else 0)
            sc.faults[sc.target] = [_pick(rng, sure(op, rel)) for _ in range(n)]
        else:  # fatal: j failures first, then a 403 that ends it
            j = rng.randint(0, retries - 1)
            sc.faults[sc.target] = [_pick(rng, sure(op, rel)) for _ in range(j)] + ["expired"]
    if platform:
        background = [b for b in background if b[0] in DRIVER_OPS]
    density = rng.uniform(0.08, 0.4)
    for key in background:
        if rng.random() >= density:
            continue
        op, rel = key
        k = rng.randint(1, budget(op) - 1)
        faults = [_pick(rng, sure(op, rel)) for _ in range(k - 1)]
        last = BENIGN if rng.random() < 0.3 and sizes[key] else sure(op, rel)
        faults.append(_pick(rng, last))
        if op == "dget":  # the driver reads a spoiled body again, VERIFY_ATTEMPTS in all
            while sum(f in SPOILING for f in faults) >= VERIFY_ATTEMPTS:
                i = max(i for i, f in enumerate(faults) if f in SPOILING)
                faults[i] = _pick(
                    rng, {f: w for f, w in sure(op, rel).items() if f not in SPOILING}
                )
        sc.faults[key] = faults
    return sc


# -- what a run must end with ------------------------------------------------------------------


@dataclass
class Expect:
    bind_fails: bool = False  # the driver cannot upload an input: nothing runs
    exit: int | None = 0  # the script's exit code (None: any, -1: any failure)
    status: str | None = "succeeded"  # the manifest's status in the store, None: no manifest,
    # "?": either way
    unlisted: str | None = None  # an output the manifest must not list
    fetch: str = "ok"  # ok (True) | absent (False) | raises (WfError) | any
    says: list[str] = field(default_factory=list)  # what the failure's message must contain
    # (each "a|b": a or b)
    spoiled: str | None = None  # the object the store holds spoiled (corrupt mode)
    manifest_target: bool = False  # every attempt at uploading the manifest failed


def predict(sc: Scenario) -> Expect:
    if sc.target is None:
        return Expect()
    op, rel = sc.target
    faults = sc.faults[sc.target]
    name = IN_NAME[rel] if op in ("get", "dput") else rel
    if sc.mode == "expire":  # the target, or (on a slow day) an earlier transfer, expires
        return Expect(exit=-1, status="?", fetch="any", says=["the presigned URLs expired"])
    if sc.mode == "corrupt":
        return Expect(fetch="raises", says=["manifest" if rel == MANIFEST else rel], spoiled=rel)
    attempt = f"attempt {sc.retries} of {sc.retries}"
    if sc.mode == "fatal":  # at the attempt it comes, one sooner if curl sent one again
        attempt = f"attempt {len(faults)} of {sc.retries}"
        if _batched(sc, op, rel):
            attempt = "attempt "
    says = [name, attempt] if sc.mode == "exhaust" else [name, "HTTP 403", attempt]
    if op == "dput":  # an URL (quoted) or an s3:// key (as it is)
        return Expect(bind_fails=True, exit=None, status=None, fetch="any", says=[_either(name)])
    if op == "dget":
        return Expect(fetch="raises", says=[_either(rel)])
    if op == "get":
        return Expect(exit=81, status="staging_failed", says=says)
    if rel != MANIFEST:
        return Expect(exit=87, status="upload_failed", unlisted=rel, says=says)
    landed = any(f in LANDS for f in faults)
    return Expect(
        exit=87,
        status="succeeded" if landed else None,
        fetch="ok" if landed else "absent",
        says=["could not upload the manifest", attempt],
        manifest_target=True,
    )


def _quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="/")


def _either(name: str) -> str:
    return f"{_quoted(name)}|{name}"


# -- running the campaign ----------------------------------------------------------------------


@dataclass
class Stores:
    http: str = "http://127.0.0.1:8089"
    seaweed: str = "http://127.0.0.1:8333"
    # a prefix and a bucket of the campaign's own (other tests empty wfr-tests when they end)
    bucket: str = "wfr-faults"
    www: Path | None = None  # nginx's files (to clean up), if known


@dataclass
class Result:
    sc: Scenario
    outcome: str = ""
    problems: list[str] = field(default_factory=list)
    hits: list[tuple[str, str, int, str]] = field(default_factory=list)
    log: str = ""
    said: str = ""  # the message of the error that ended the run, if any
    seconds: float = 0.0
    skipped: str = ""


@dataclass
class Report:
    seed: int
    requested: int
    results: list[Result]
    seconds: float
    workers: int
    proxy_errors: list[str]

    @property
    def faults(self) -> int:
        return sum(len(r.hits) for r in self.results)

    @property
    def failures(self) -> list[str]:
        out = [_failure(r) for r in self.results if r.problems]
        out += [f"the fault proxy failed: {e}" for e in self.proxy_errors]
        return out

    @property
    def text(self) -> str:
        return _table(self)


class Campaign:
    def __init__(
        self,
        seed: int,
        faults: int,
        stores: Stores,
        base: Path,
        *,
        runs: list[int] | None = None,
        workers: int = 3,
        lanes: set[str] | None = None,
        revive: Callable[[], object] | None = None,
    ) -> None:
        self.seed, self.requested, self.stores, self.base = seed, faults, stores, base
        self.revive = revive  # starts the TES server again if it died
        self.only, self.workers = runs, workers
        self.lanes = lanes if lanes is not None else set(LANES)
        if not self.lanes & set(LANE_CYCLE):
            raise ValueError(
                f"no such lanes: {sorted(self.lanes)} (choose from {sorted(set(LANE_CYCLE))})"
            )
        self.errors: list[str] = []
        self._boto = threading.Lock()
        self._paths: dict[str, Path] = {}
        self._s3: Any = None

    def scenarios(self, start: int, faults: int) -> tuple[list[Scenario], int]:
        """Runs from index ``start`` on until they are likely to inject ``faults``; and the
        next index."""
        out, total, i = [], 0, start
        while total < faults:
            sc = scenario(self.seed, i)
            i += 1
            if sc.lane not in self.lanes:
                continue
            out.append(sc)
            total += sc.estimate
        return out, i

    def run(self) -> Report:
        self.base.mkdir(parents=True, exist_ok=True)
        self._client_paths()
        with self._boto:
            self._s3 = _s3(self.stores.seaweed)
        with contextlib.suppress(self._s3.exceptions.BucketAlreadyOwnedByYou):
            self._s3.create_bucket(Bucket=self.stores.bucket)
        self.proxies = {
            "put": FaultProxy(int(self.stores.http.rsplit(":", 1)[1]), stall_s=3 * STALL).start(),
            "post": FaultProxy(
                int(self.stores.seaweed.rsplit(":", 1)[1]), stall_s=3 * STALL
            ).start(),
        }
        t0 = time.monotonic()
        results: list[Result] = []
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                if self.only is not None:
                    todo = [scenario(self.seed, i) for i in self.only]
                    results += pool.map(self._run_one, todo)
                else:  # in rounds, until the faults injected are as many as asked for
                    nxt = 0
                    while (left := self.requested - sum(len(r.hits) for r in results)) > 0:
                        todo, nxt = self.scenarios(nxt, left)
                        done = list(pool.map(self._run_one, todo))
                        results += done
                        if not any(r.hits for r in done):
                            self.errors.append("a round of runs injected no fault at all")
                            break
        finally:
            for p in self.proxies.values():
                p.stop()
        errors = self.errors + [e for p in self.proxies.values() for e in p.errors]
        return Report(
            self.seed, self.requested, results, time.monotonic() - t0, self.workers, errors
        )

    # -- one run -----------------------------------------------------------------------------

    def _run_one(self, sc: Scenario) -> Result:
        """The run; a TES run skipped because the server was gone, once more once ``revive``
        has brought it back."""
        res = self._attempt(sc)
        if res.skipped and sc.lane in TES_LANES and self.revive is not None:
            self.revive()
            if tes_up():
                again = self._attempt(sc)
                again.log = f"first attempt {res.outcome}\n{res.log}\n{again.log}"
                return again
        return res

    def _attempt(self, sc: Scenario) -> Result:
        res = Result(sc)
        t0 = time.monotonic()
        tmp = self.base / f"run{sc.index:05d}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        sched = Schedule(sc.name, {k: list(v) for k, v in sc.faults.items()})
        proxy = self.proxies[sc.store]
        proxy.register(sched)
        run_key = ""
        try:
            if sc.lane == "script":
                run_key = self._script_run(sc, sched, tmp, res)
            else:
                run_key = self._executor_run(sc, tmp, res)
        except Exception as e:  # a crash of the test itself, or of the runtime: never hidden
            import traceback

            res.problems.append(f"unexpected {type(e).__name__}: {e}\n{traceback.format_exc()}")
            res.outcome = res.outcome or "crashed"
        finally:
            proxy.unregister(sc.name)
        if res.problems and sc.lane in TES_LANES and not tes_up():
            # the server went away under the run (Funnel 0.12.2 dies now and then of a data race
            # in its own S3 download's logging): the lane is skipped, as where none answers
            res.log += "\n".join(["", "before the TES server went away:", *res.problems])
            res.problems = []
            res.skipped = res.outcome = f"skipped: the TES server stopped answering{_funnel_died()}"
        res.hits = list(sched.hits)
        planned_left = [
            (op, rel, len(v), sched.attempts[(op, rel)])
            for (op, rel), v in sc.faults.items()
            if sched.attempts[(op, rel)] < len(v) and not res.skipped
        ]
        if planned_left and not res.problems and sc.mode == "below":
            # below the budget every planned fault must be met (an attempt went missing?)
            res.problems.append(
                f"faults planned but not met (op, rel, planned, attempts): {planned_left}"
            )
        res.seconds = time.monotonic() - t0
        if not res.problems:
            shutil.rmtree(tmp, ignore_errors=True)
            self._clean_store(sc, run_key)
        return res

    def _options(self, sc: Scenario, **extra: object) -> Options:
        proxy = self.proxies[sc.store]
        kw: dict[str, Any] = dict(
            transport="url",
            url_retries=sc.retries,
            url_parallel=sc.parallel,
            url_backoff_ms=20,
            url_stall=STALL,
        )
        if sc.mode == "expire":  # the client waits while the proxy holds its request
            kw.update(url_expires=EXPIRES, url_stall=3 * EXPIRES)
        if sc.store == "put":
            kw["store"] = f"{proxy.url}/{self.stores.bucket}/"
        else:
            kw["store"] = f"s3://{self.stores.bucket}/runs"
            kw["s3_endpoint"] = proxy.url
        kw.update(extra)
        return Options(**kw)

    def _plan(self, sc: Scenario, root: str, src: Path) -> TaskPlan:
        src.mkdir(parents=True, exist_ok=True)
        stage = []
        for name, data in INPUTS.items():
            (src / name).write_bytes(data)
            stage.append(StageItem(source=str(src / name), path=f"{root}/work/in/{name}"))
        lay = Layout.under(root)
        return check(
            TaskPlan(
                name=sc.name,
                lang="wdl",
                layout=lay,
                image=sc.image,
                stage=tuple(stage),
                command=Command(script=COMMAND),
                stdout=f"{lay.root}/stdout.txt",
                stderr=f"{lay.root}/stderr.txt",
                outputs=tuple(c.output for c in CAPTURES),
                captures=CAPTURES,
            )
        )

    def _script_run(self, sc: Scenario, sched: Schedule, tmp: Path, res: Result) -> str:
        exp = predict(sc)
        with self._boto:
            url = transport_url.UrlTransport(self._options(sc))
        store = url.store
        root = tmp / "task"
        plan = self._plan(sc, str(root), tmp / "src")
        run_key = f"{sc.name}-{uuid.uuid4().hex[:12]}"
        try:
            plan = url.bind(plan, run_key)
        except WfError as e:
            res.outcome = "failed cleanly: the driver could not upload an input"
            self._expect_error(res, exp, e, bound=False)
            return run_key
        if exp.bind_fails:
            res.problems.append("the driver's upload was to fail, and binding succeeded")
        if sc.mode == "expire":
            assert plan.url is not None and plan.url.expires is not None
            sched.hold_until = plan.url.expires + 1.5
        script = tmp / "script.sh"
        script.write_text(emit(plan))
        shell = {"dash": ["dash"], "bash": ["bash"], "busybox": ["busybox", "sh"]}[sc.shell]
        argv = [
            shutil.which(shell[0]) or shell[0],
            *shell[1:],
            *TRACE,
            str(script),
        ]
        env = {"PATH": str(self._paths[sc.client]), "HOME": str(tmp / "home")}
        p = subprocess.run(
            argv, env=env, cwd=tmp, capture_output=True, text=True, timeout=600, check=False
        )
        res.log = p.stderr
        (tmp / "script.stderr").write_text(p.stderr)
        self._check_script_side(res, exp, p.returncode, p.stderr, root)
        self._check_store(sc, res, exp, run_key, root)
        try:
            ok = transport_url.fetch(plan, store, str(tmp / "fetched"))
        except WfError as e:
            self._expect_error(res, exp, e, bound=True)
            refused = exp.spoiled or (sc.target[1] if sc.target and sc.target[0] == "dget" else "")
            if refused and refused != MANIFEST and (tmp / "fetched" / refused).exists():
                res.problems.append(f"VIOLATION: {refused}, refused, has its name on the host")
            return run_key
        self._check_fetched(res, exp, ok, tmp / "fetched")
        return run_key

    def _executor_run(self, sc: Scenario, tmp: Path, res: Result) -> str:
        from wfrewrite.runtime.exec import select

        exp = predict(sc)
        tes = sc.lane in TES_LANES
        extra: dict[str, object] = {"executor": "tes" if tes else sc.lane}
        run_key = ""
        if sc.lane == "slurm":
            extra["slurm_container"] = "none"
        if tes:
            extra["tes_url"] = TES_URL
        if sc.lane == "tes-platform":  # a prefix of the run's own: its inputs by content in it
            run_key = f"{sc.name}-{uuid.uuid4().hex[:12]}"
            extra.update(transport="platform", store=f"s3://{self.stores.bucket}/runs/{run_key}")
        if sc.lane == "podman" and not shutil.which("podman"):
            res.skipped = res.outcome = "skipped: no podman"
            return ""
        if sc.lane == "slurm" and not shutil.which("sbatch"):
            res.skipped = res.outcome = "skipped: no sbatch"
            return ""
        if tes and not tes_up():
            res.skipped = res.outcome = f"skipped: no TES server at {TES_URL}"
            return ""
        with self._boto:
            ex = select(self._options(sc, **extra))
        host = tmp / "host"
        host.mkdir()
        root = ex.container_root(str(host))
        plan = self._plan(sc, root, tmp / "src")
        try:
            job = ex.prepare(plan, str(host))
        except WfError as e:
            res.outcome = "failed cleanly: the driver could not upload an input"
            self._expect_error(res, exp, e, bound=False)
            return run_key
        if exp.bind_fails:
            res.problems.append("the driver's upload was to fail, and prepare succeeded")
        if sc.lane != "tes-platform":
            assert job.plan.url is not None
            run_key = _run_key(job.plan)
        # where the script ran in the task's directory, what it left there is checked too
        local_root = Path(root) if sc.lane in ("local", "slurm") else None
        try:
            result = ex.run(job)
        except WfError as e:
            res.log = _read(host / "wfrewrite" / "script.log") + _read(
                host / "wfrewrite" / "slurm.log"
            )
            if tes:
                self._check_tes_task(res, exp, host)
            if local_root is not None:
                self._check_local(res, exp, local_root)
            self._check_store(sc, res, exp, run_key, local_root)
            if exp.status is None and exp.fetch == "absent":
                res.outcome = "failed cleanly: no manifest committed"
                self._says(res, exp, e.message + "\n" + res.log)
                # the tes executor says it in its own words: the script ended "before it could
                # deliver its manifest" (runtime/exec/tes.py, why_failed)
                if not any(w in e.message for w in ("no manifest", "deliver its manifest")):
                    res.problems.append(f"no manifest, and the error does not say so: {e.message}")
            else:
                self._expect_error(res, exp, e, bound=True)
            refused = exp.spoiled or (sc.target[1] if sc.target and sc.target[0] == "dget" else "")
            if local_root is None and refused and refused != MANIFEST and (host / refused).exists():
                res.problems.append(f"VIOLATION: {refused}, refused, has its name on the host")
            return run_key
        res.log = _read(Path(result.log_path))
        if tes:
            # a TES run's exit code is its manifest's; the script's own, and its stderr, are in
            # the server's log of the task (read whatever the manifest says)
            self._check_tes_task(res, exp, host)
        elif exp.exit is not None and result.exit_code != exp.exit:
            res.problems.append(f"exit {result.exit_code}, expected {exp.exit}")
        if local_root is not None:
            self._check_local(res, exp, local_root)
        self._check_store(sc, res, exp, run_key, local_root)
        if exp.fetch == "raises":
            res.problems.append("the driver was to refuse an object, and the run succeeded")
        m = result.manifest
        assert m is not None
        self._check_manifest_msg(res, exp, m.status, m.message, res.log)
        self._check_fetched(res, exp, True, host)
        return run_key

    def _check_tes_task(self, res: Result, exp: Expect, host: Path) -> None:
        """The TES task as the server tells it (view FULL): the script's exit code, as
        predicted, and its stderr and stdout tails as the run's log."""
        task_id = _read(host / "wfrewrite" / "tes-task").strip()
        if not task_id:
            res.problems.append("no TES task id in wfrewrite/tes-task")
            return
        url = f"{TES_URL}/ga4gh/tes/v1/tasks/{task_id}?view=FULL"
        with urllib.request.urlopen(url, timeout=30) as r:
            task = json.load(r)
        logs = (task.get("logs") or [{}])[-1].get("logs") or [{}]
        code = int(logs[-1].get("exit_code") or 0)
        res.log = (logs[-1].get("stderr") or "") + (logs[-1].get("stdout") or "") + res.log
        if (exp.exit == -1 and code == 0) or exp.exit not in (None, -1, code):
            res.problems.append(
                f"the script exited {code} (TES task {task_id}), expected {exp.exit}"
            )

    # -- checks -------------------------------------------------------------------------------

    def _check_script_side(
        self, res: Result, exp: Expect, code: int, stderr: str, root: Path
    ) -> None:
        if (exp.exit == -1 and code == 0) or exp.exit not in (None, -1, code):
            res.problems.append(f"the script exited {code}, expected {exp.exit}")
        self._check_local(res, exp, root)
        local = root / "wfrewrite" / "manifest.json"
        if local.exists():
            try:
                m = json.loads(local.read_text())
            except ValueError as e:
                res.problems.append(f"the script's own manifest does not parse: {e}")
                return
            self._check_manifest_msg(res, exp, m["status"], m["message"], stderr)

    def _check_manifest_msg(
        self, res: Result, exp: Expect, status: str, message: str, log: str
    ) -> None:
        if exp.status in ("staging_failed", "upload_failed"):
            if status != exp.status:
                res.problems.append(f"the manifest says {status}, expected {exp.status}")
            self._says(res, exp, message)
            res.outcome = {
                "staging_failed": "failed cleanly: staging_failed (the command never ran)",
                "upload_failed": "failed cleanly: upload_failed (the object left out)",
            }[exp.status]
        elif exp.status == "?" and exp.exit is not None:
            self._says(res, exp, message + "\n" + log)
            res.outcome = "failed cleanly: presigned URLs expired (SeaweedFS said 403)"
        elif exp.manifest_target:
            self._says(res, exp, log)
            if exp.status is not None:
                res.outcome = "succeeded: the manifest landed, every answer to it lost"

    def _says(self, res: Result, exp: Expect, text: str) -> None:
        missing = [s for s in exp.says if not any(alt in text for alt in s.split("|"))]
        if missing:
            res.problems.append(f"the failure's message does not name {missing}: {text[-800:]!r}")

    def _check_local(self, res: Result, exp: Expect, root: Path) -> None:
        """What the script left on its own disk: inputs whole or absent, the command's view."""
        work = root / "work"
        for name, data in INPUTS.items():
            p = work / "in" / name
            if p.exists() and p.read_bytes() != data:
                res.problems.append(f"VIOLATION: input in/{name} at its final name is not whole")
        sums = work / "sums.txt"
        if sums.exists() and sums.read_bytes() != SUMS:
            res.problems.append(
                f"VIOLATION: the command saw an input that is not whole: {sums.read_text()!r}"
            )
        if exp.status == "staging_failed":
            if sums.exists():
                res.problems.append("the command ran although staging failed")
            assert exp.says
            if (work / "in" / exp.says[0]).exists():
                res.problems.append(f"the input that failed, in/{exp.says[0]}, has its name")

    def _store_get(self, sc: Scenario, run_key: str, rel: str) -> bytes | None:
        """An object as the store holds it, read directly (past the proxy)."""
        if sc.store == "put":
            url = f"{self.stores.http}/{self.stores.bucket}/{run_key}/out/{_quoted(rel)}"
            try:
                with urllib.request.urlopen(url, timeout=60) as r:
                    data = r.read()
                    n = r.headers.get("Content-Length")
                    if n is not None and int(n) != len(data):
                        raise OSError(f"{url}: {len(data)} of {n} bytes")
                    return bytes(data)
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    return None
                raise
        try:
            obj = self._s3.get_object(Bucket=self.stores.bucket, Key=f"runs/{run_key}/out/{rel}")
        except self._s3.exceptions.NoSuchKey:
            return None
        return bytes(obj["Body"].read())

    def _check_store(
        self, sc: Scenario, res: Result, exp: Expect, run_key: str, root: Path | None
    ) -> None:
        """The commit point: if the manifest is in the store, every object it lists is all there
        (read past the proxy) and is what the command wrote. (The platform lane's outbox is
        Funnel's upload, which the driver removes once it has fetched it, or failed to: it must
        be gone.)"""
        if sc.lane == "tes-platform":
            left = self._s3.list_objects_v2(
                Bucket=self.stores.bucket, Prefix=f"runs/{run_key}/out/"
            ).get("Contents", [])
            if left:
                keys = [o["Key"] for o in left]
                res.problems.append(f"the outbox is still in the store once fetched: {keys}")
            return
        raw = self._store_get(sc, run_key, MANIFEST)
        if raw is None:
            if exp.status not in (None, "?"):
                res.problems.append(f"no manifest in the store, expected one ({exp.status})")
            elif not res.outcome:
                res.outcome = "failed cleanly: no manifest committed"
            return
        if exp.status is None:
            res.problems.append("a manifest is in the store, expected none")
        try:
            m = json.loads(raw)
        except ValueError:
            if exp.spoiled == MANIFEST:
                return  # planted: the driver must refuse it
            res.problems.append(f"VIOLATION: the manifest in the store does not parse: {raw!r}")
            return
        if exp.status not in (None, "?") and m["status"] != exp.status:
            res.problems.append(f"the manifest in the store says {m['status']}, not {exp.status}")
        for f in m["files"]:
            if f["type"] != "file":
                continue
            rel = f["path"]
            if rel == exp.unlisted:
                res.problems.append(f"the manifest lists {rel}, whose upload failed")
            data = self._store_get(sc, run_key, rel)
            whole = data is not None and (len(data), hashlib.sha1(data).hexdigest()) == (
                f["size"],
                f["sha1"],
            )
            if rel == exp.spoiled:
                if whole:
                    res.problems.append(f"{rel} was to be spoiled in the store, and is whole")
                continue
            if not whole:
                got = "missing" if data is None else f"{len(data)} bytes"
                res.problems.append(
                    f"VIOLATION: the manifest lists {rel} ({f['size']} bytes), the store has {got}"
                )
            if OUTPUTS.get(rel) is not None and data is not None and data != OUTPUTS[rel]:
                res.problems.append(f"VIOLATION: {rel} in the store is not what the command wrote")
            if root is not None and data is not None and (root / rel).read_bytes() != data:
                res.problems.append(f"VIOLATION: {rel} in the store differs from the script's file")

    def _check_fetched(self, res: Result, exp: Expect, ok: bool, dest: Path) -> None:
        if exp.fetch == "raises":
            res.problems.append(
                "VIOLATION: the driver accepted the outputs, one of which it had to refuse"
            )
            return
        if exp.fetch == "absent":
            if ok:
                res.problems.append("the driver found a manifest, expected none")
            return
        if exp.fetch == "any" and not ok:
            return
        if not ok:
            res.problems.append("the driver found no manifest")
            return
        m = json.loads((dest / MANIFEST).read_text())
        listed = {f["path"] for f in m["files"] if f["type"] == "file"}
        for rel in listed:
            if (dest / rel).read_bytes() != OUTPUTS[rel]:
                res.problems.append(f"VIOLATION: the driver fetched {rel}, not byte-identical")
        if m["status"] == "succeeded":
            if listed != set(OUTPUTS):
                res.problems.append(f"succeeded, listing {sorted(listed)}")
            for rel, data in LOGS.items():
                if (dest / rel).read_bytes() != data:
                    res.problems.append(f"the driver fetched {rel}, not byte-identical")
            res.outcome = res.outcome or "succeeded: every output byte-identical"
        if exp.status == "succeeded" and m["status"] != "succeeded":
            res.problems.append(f"the fetched manifest says {m['status']}")

    def _expect_error(self, res: Result, exp: Expect, e: WfError, *, bound: bool) -> None:
        msg = res.said = e.message
        if not bound:
            if not exp.bind_fails:
                res.problems.append(f"the driver's upload failed: {msg}")
            else:
                self._says(res, exp, msg)
            return
        if exp.fetch not in ("raises", "any"):
            res.problems.append(f"the driver's fetch failed: {type(e).__name__}: {msg}")
            return
        self._says(res, exp, msg)
        if "before the script finished" in msg:
            res.problems.append(f"the error blames the job for the driver's refusal: {msg}")
        if exp.spoiled is not None:
            res.outcome = "failed cleanly: the driver refused a spoiled object (size/sha1)"
        else:
            res.outcome = "failed cleanly: the driver could not fetch an output"

    def _clean_store(self, sc: Scenario, run_key: str) -> None:
        if not run_key:
            return
        if sc.store == "put":
            if self.stores.www is not None:
                shutil.rmtree(self.stores.www / self.stores.bucket / run_key, ignore_errors=True)
            return
        with contextlib.suppress(Exception):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.stores.bucket, Prefix=f"runs/{run_key}/"
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    self._s3.delete_object(Bucket=self.stores.bucket, Key=obj["Key"])

    def _client_paths(self) -> None:
        """One PATH directory per client set: BusyBox's applets (without its wget and nc unless
        the set is "busybox") plus that client (as tests/conftest.py's client_path)."""
        tools = {
            "curl": ["curl"],
            "wget": ["wget"],
            "busybox": [],
            "python": ["python3"],
            "perl": ["perl"],
            "bash": ["bash"],
        }
        for name, linked in tools.items():
            d = self.base / "paths" / name
            if not d.exists():
                d.mkdir(parents=True)
                subprocess.run(["busybox", "--install", "-s", str(d)], check=True)
                if name != "busybox":
                    for applet in ("wget", "nc"):
                        (d / applet).unlink(missing_ok=True)
                for tool in linked:
                    real = shutil.which(tool, path="/usr/bin:/bin")
                    if real is None:
                        raise RuntimeError(f"{tool} is not installed in /usr/bin:/bin")
                    (d / tool).unlink(missing_ok=True)
                    (d / tool).symlink_to(os.path.realpath(real))
            self._paths[name] = d


def tes_up(url: str = TES_URL) -> bool:
    """The TES server answers (its service-info)."""
    try:
        with urllib.request.urlopen(f"{url}/ga4gh/tes/v1/service-info", timeout=5):
            return True
    except OSError:
        return False


def _funnel_died() -> str:
    """What the test bed's Funnel said as it died, if its log says (shared/testbed/funnel.sh)."""
    said = funnel_last_words()
    return f" (Funnel's log: {said})" if said else ""


def _run_key(plan: TaskPlan) -> str:
    assert plan.url is not None
    where = plan.url.key_prefix or urllib.parse.unquote(plan.url.upload_url)
    return where.rstrip("/").rsplit("/", 2)[-2]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _s3(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        config=cfg,
    )


# -- the report --------------------------------------------------------------------------------

# the table's columns: (heading, place)
OPS = [
    ("get", "get"),
    ("put", "up"),
    ("manifest", "manifest"),
    ("d-put", "dput"),
    ("d-get", "dget"),
    ("d-manifest", "dmanifest"),
]


def _place(op: str, rel: str) -> str:
    if rel == MANIFEST:
        return "manifest" if op == "up" else "dmanifest"
    return op


def _table(rep: Report) -> str:
    by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r in rep.results:
        for op, rel, _, fault in r.hits:
            by_kind[fault][_place(op, rel)] += 1
    lines = [
        f"fault campaign, seed {rep.seed}: {len(rep.results)} runs, {rep.faults} faults injected "
        f"(asked for at least {rep.requested}), {rep.seconds:.0f} s wall with {rep.workers} "
        "runs at a time",
        "",
        "faults by kind and place (get/put: the script's downloads of inputs and uploads of "
        "outputs and logs; manifest: its upload of the manifest; d-put: the driver's uploads of "
        "the inputs; d-get/d-manifest: its fetches of the outputs and logs / of the manifest)",
        f"  {'family':<20}{'kind':<16}" + "".join(f"{h:>11}" for h, _ in OPS) + f"{'total':>8}",
    ]
    fams: collections.Counter[str] = collections.Counter()
    for kind in sorted(by_kind, key=lambda k: (FAMILY[k], k)):
        c = by_kind[kind]
        fams[FAMILY[kind]] += sum(c.values())
        row = "".join(f"{c[p]:>11}" for _, p in OPS)
        lines.append(f"  {FAMILY[kind]:<20}{kind:<16}{row}{sum(c.values()):>8}")
    totals = collections.Counter[str]()
    for c in by_kind.values():
        totals.update(c)
    lines.append(
        f"  {'all':<36}" + "".join(f"{totals[p]:>11}" for _, p in OPS) + f"{rep.faults:>8}"
    )
    lines += ["", "faults by family: " + ", ".join(f"{k} {v}" for k, v in sorted(fams.items()))]
    lanes: collections.Counter[str] = collections.Counter()
    modes: collections.Counter[str] = collections.Counter()
    per: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    runs: collections.Counter[str] = collections.Counter()
    for r in rep.results:
        lanes[f"{r.sc.lane}/{r.sc.store}/{r.sc.client}"] += 1
        modes[r.sc.mode] += 1
        runs[r.sc.lane] += 1
        per["lane"][r.sc.lane] += len(r.hits)
        per["store"][r.sc.store] += len(r.hits)
        per["client"][r.sc.client] += len(r.hits)
    # tes: Funnel runs the script (--transport url); tes-platform: Funnel moves the bytes, the
    # driver's transfers alone pass the proxy
    lines.append(
        "faults by lane (runs): "
        + ", ".join(f"{k} {v} ({runs[k]})" for k, v in sorted(per.pop("lane").items()))
    )
    for what, c in per.items():
        lines.append(f"faults by {what}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    lines += [
        "runs by lane/store/client: " + ", ".join(f"{k} {v}" for k, v in sorted(lanes.items())),
        "runs by mode: " + ", ".join(f"{k} {v}" for k, v in sorted(modes.items())),
        "",
        "outcomes",
    ]
    outcomes = collections.Counter(r.outcome or "?" for r in rep.results if not r.problems)
    for k, v in sorted(outcomes.items()):
        lines.append(f"  {v:>6}  {k}")
    bad = [r for r in rep.results if r.problems]
    violations = sum(1 for r in bad for p in r.problems if p.startswith("VIOLATION"))
    lines.append(f"  {len(bad):>6}  went wrong (see below)")
    ok = sum(1 for r in rep.results if not r.problems and r.outcome.startswith("succeeded"))
    clean = sum(1 for r in rep.results if not r.problems and r.outcome.startswith("failed"))
    lines += [
        "",
        f"FAULT-CAMPAIGN seed={rep.seed} runs={len(rep.results)} faults={rep.faults} "
        f"succeeded={ok} failed_cleanly={clean} wrong={len(bad)} violations={violations} "
        f"wall={rep.seconds:.0f}s",
    ]
    return "\n".join(lines)


def _failure(r: Result) -> str:
    sc = r.sc
    hits = ", ".join(f"{op} {rel} #{n} {f}" for op, rel, n, f in r.hits) or "none"
    return "\n".join(
        [
            sc.describe(),
            "  problems:",
            *(f"    - {p}" for p in r.problems),
            f"  faults that hit: {hits}",
            "  log (tail):",
            *(f"    {ln}" for ln in r.log.splitlines()[-25:]),
            f"  replay: make test-faults SEED={sc.seed} RUNS={sc.index}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--faults", type=int, default=1000)
    ap.add_argument("--runs", default="", help="only these run indices (comma-separated)")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--lanes", default=",".join(LANES))
    ap.add_argument("--base", default="")
    a = ap.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    import tempfile

    base = Path(a.base or tempfile.mkdtemp(prefix="wfr-faults-"))
    www = Path(os.environ.get("STATE", "/tmp/infra-objstore")) / "www"
    rep = Campaign(
        a.seed,
        a.faults,
        Stores(www=www if www.is_dir() else None),
        base,
        runs=[int(x) for x in a.runs.split(",") if x] or None,
        workers=a.workers,
        lanes=set(a.lanes.split(",")),
    ).run()
    print(rep.text)
    for f in rep.failures:
        print("\n" + f)
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
