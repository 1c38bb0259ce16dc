"""The leader's waits under --no-appliance: Toil's leader does not sit out its 2-s poll of the
batch system while it has readied jobs in hand, and its helper threads (service manager, stats
and logging, real-time log server) stop when shut down instead of finishing their rests; a
worker forked from the zygote finds miniwdl's plugins scanned and Toil's URL plugins loaded.

Real Toil objects throughout (a file job store in tmp_path, Toil's message bus, its threads).
The bounds on a shutdown are liveness checks, each well under the rest it used to wait out
(1 s, 0.5 s, 0.5 s), not measurements."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("toil")


@pytest.fixture
def job_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from toil.common import Config
    from toil.job import Job
    from toil.jobStores.fileJobStore import FileJobStore

    monkeypatch.setenv("WFREWRITE_TOIL_FORK", "0")  # no zygote for these
    parser = Job.Runner.getDefaultArgumentParser(jobstore_as_flag=True)
    config = Config()
    config.setOptions(
        parser.parse_args(["--jobStore", str(tmp_path / "js"), "--workDir", str(tmp_path)])
    )
    store = FileJobStore(str(tmp_path / "js"))
    store.initialize(config)
    return store, config


def test_the_leader_does_not_wait_with_readied_jobs_in_hand(job_store: Any) -> None:
    from toil.bus import JobUpdatedMessage, MessageBus

    from wfrewrite.runtime.engines.toil.batch import batch_system_class

    _, config = job_store
    batch = batch_system_class()(config, 1, 1 << 30, 1 << 30)
    try:
        bus = MessageBus()
        batch.set_message_bus(bus)
        bus.publish(JobUpdatedMessage("kind-WDLStartJob/instance-x", 0))  # the leader readied one
        start = time.monotonic()
        assert batch.getUpdatedBatchJob(maxWait=60) is None
        assert time.monotonic() - start < 30, "waited with work in hand"
        start = time.monotonic()
        assert batch.getUpdatedBatchJob(maxWait=0.3) is None  # nothing readied: Toil's wait
        assert time.monotonic() - start >= 0.25
    finally:
        batch.shutdown()


def test_helper_threads_stop_when_shut_down(job_store: Any) -> None:
    from toil.realtimeLogger import RealtimeLogger
    from toil.serviceManager import ServiceManager
    from toil.statsAndLogging import StatsAndLogging
    from toil.toilState import ToilState

    from wfrewrite.runtime.engines.toil.batch import batch_system_class
    from wfrewrite.runtime.engines.toil.leader import quicken_leader

    store, config = job_store
    quicken_leader()
    quicken_leader()  # once per process, however often asked

    def stopped_within(stop: Any) -> float:
        time.sleep(0.15)  # the thread is in its rest now
        start = time.monotonic()
        stop()
        return time.monotonic() - start

    services = ServiceManager(store, ToilState(store))
    services.start()
    assert stopped_within(services.shutdown) < 0.8  # its rest: 1 s
    stats = StatsAndLogging(store, config)
    stats.start()
    assert stopped_within(stats.shutdown) < 0.4  # 0.5 s
    batch = batch_system_class()(config, 1, 1 << 30, 1 << 30)
    try:
        RealtimeLogger._startLeader(batch)
        assert stopped_within(RealtimeLogger._stopLeader) < 0.4  # 0.5 s
    finally:
        batch.shutdown()


def test_a_forked_worker_finds_the_plugins_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the zygote does before it forks (batch.PRELOAD): the workers inherit it."""
    pytest.importorskip("WDL")
    import toil.lib.plugins as plugins
    from WDL.runtime import config as cfg_module

    from wfrewrite.runtime.engines import miniwdl
    from wfrewrite.runtime.engines.toil.worker import warm_zygote

    monkeypatch.setattr(cfg_module, "load_all_plugins", cfg_module.load_all_plugins)
    miniwdl.warm_toil_worker()
    warm_zygote()

    def no_scan(*_: Any) -> Any:
        raise AssertionError("scanned again")

    monkeypatch.setattr(miniwdl, "miniwdl_entry_points", no_scan)
    monkeypatch.setattr(plugins.pkgutil, "iter_modules", no_scan)
    cfg = cfg_module.Loader(__import__("logging").getLogger("test"))
    backends = [p.value for _, p in cfg_module.load_all_plugins(cfg, "container_backend")]
    assert any("wfrewrite" in v for v in backends)
    assert "http" in plugins.get_plugin_names("url_access")
