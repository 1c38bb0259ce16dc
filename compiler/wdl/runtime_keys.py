"""WDL runtime keys: which wfrewrite honours, which only mean something elsewhere, and disks.

    runtime { docker: "ubuntu:22.04"  cpu: 2  memory: "4 GiB"  preemptible: 2
              disks: ["local-disk 20 SSD", "/mnt/ref 50 GiB"]  zones: "us-east1-b" }
        ->  Resources(cpu=2.0, memory=4294967296, preemptible=2, disk=20000000000,
                      mounts=(Mount(path="/mnt/ref", size=53687091200),))
            and a warning: runtime key 'zones' (a cloud scheduler's key; ignored here)

Every key lands in the plan, or is reported through the one unsupported channel: refused
(``inlineDockerfile``, ``privileged: true``), or a warning for the keys the spec lets an engine
ignore. Whether an executor can give what the plan then asks for (GPUs, preemptible machines,
disks at mount points) is the executor's to report.
"""

from __future__ import annotations

import re
from typing import Any

from WDL import Value
from WDL._util import parse_byte_size

from ..diagnostics import Pos, Unsupported
from ..plan.ir import Mount

# Runtime keys wfrewrite honours (after miniwdl's 1.2 renames): they reach the plan.
HONOURED = {
    "docker",
    "container",
    "cpu",
    "memory",
    "disks",
    "disk",
    "gpu",
    "returnCodes",
    "continueOnReturnCode",
    "maxRetries",
    "preemptible",
}
# Keys that only mean something to a cloud or HPC scheduler wfrewrite does not drive.
CLOUD_HINTS = {
    "zones",
    "bootDiskSizeGb",
    "noAddress",
    "cpuPlatform",
    "gpuType",
    "gpuCount",
    "nvidiaDriverVersion",
    "queueArn",
    "awsBatchRetryAttempts",
    "docker_network",
    "dx_instance_type",
    "time",
    "runtime_minutes",
    "maxTime",
    "max_cpu",
    "max_memory",
    "short_task",
    "localization_optional",
    "inputs",
    "outputs",
    "fpga",
    "tpu",
}


def wdl12_name(key: str) -> str:
    """The WDL 1.2 spelling of a key miniwdl has renamed to its 1.1 name."""
    return {"returnCodes": "return_codes", "maxRetries": "max_retries"}.get(key, key)


def report_keys(
    runtime_eval: dict[str, Value.Base], where: dict[str, Pos | None], unsupported: Unsupported
) -> None:
    """Report every key that does not reach the plan (``where``: each key's position)."""
    for key, value in runtime_eval.items():
        pos = where.get(key)
        if key == "inlineDockerfile":
            unsupported.report(
                pos,
                "runtime key 'inlineDockerfile'",
                "wfrewrite runs declared images; it does not build them",
            )
        elif key == "privileged" and isinstance(value, Value.Boolean) and value.value:
            unsupported.report(
                pos, "runtime key 'privileged: true'", "tasks run unprivileged, in their own image"
            )
        elif key in CLOUD_HINTS:
            unsupported.report(
                pos, f"runtime key '{key}'", "a cloud scheduler's key; ignored here", hint=True
            )
        elif key not in HONOURED:
            unsupported.report(pos, f"runtime key '{key}'", "ignored", hint=True)


_DISK = re.compile(
    r"\s*(?:(?P<mount>/\S*|local-disk)\s+)?(?P<size>\d+(?:\.\d+)?)\s*(?P<unit>[A-Za-z]*)"
    r"(?:\s+(?P<type>SSD|HDD|LOCAL))?\s*\Z"
)


def disks(v: Value.Base) -> tuple[int | None, tuple[Mount, ...]]:
    """Bytes of the task's own disk, and the disks at mount points, from ``disks``:
    "10 GiB", "local-disk 100 SSD" (GB, Cromwell's form), "/mnt/data 10 GiB", an Int of GiB, or
    an array of these. A spec that does not parse gives (None, ())."""
    if isinstance(v, Value.Array):
        total, mounts = 0, list[Mount]()
        for item in v.value:
            size, more = disks(item)
            total += size or 0
            mounts += more
        return total or None, tuple(mounts)
    if isinstance(v, Value.Int):
        return int(v.value) * (1 << 30), ()
    m = _DISK.match(str(v.value))
    if not m:
        return None, ()
    unit = m.group("unit")
    if unit.upper() in ("SSD", "HDD", "LOCAL"):
        unit = ""  # a disk type where the unit would be: "local-disk 100 SSD"
    if not unit:
        unit = "GB" if m.group("mount") == "local-disk" else "GiB"
    try:
        size = parse_byte_size(f"{m.group('size')} {unit}")
    except ValueError:
        return None, ()
    mount = m.group("mount")
    if mount and mount != "local-disk":
        return None, (Mount(path=mount.rstrip("/") or "/", size=size),)
    return size, ()


def runtime_positions(task: Any, keys: list[str], pos_of: Any) -> dict[str, Pos | None]:
    """Each runtime key's position in the task (under its 1.1 or 1.2 name)."""
    declared = task.runtime if task is not None else {}
    out: dict[str, Pos | None] = {}
    for key in keys:
        node = declared.get(key) or declared.get(wdl12_name(key))
        out[key] = pos_of(node) if node is not None else None
    return out
