"""The worker side of Toil ``--no-appliance``: a context Toil enters around every job.

    ctx = WorkerContext({"executor": "podman", "transport": "url", ...})   # pickled by the leader
    with ctx:      # in the worker: Toil's WDL and CWL task jobs now run wfrewrite scripts
        job.run(file_store)

``__enter__`` installs the WDL patches (``wdl.patch``) or the CWL ones (``cwl.patch``: the
leader says which runner it is, so a WDL worker never imports cwltool) and
hands the options to the miniwdl config Toil builds per task (``MINIWDL__WFREWRITE__*``);
``__exit__`` undoes all of it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ...options import from_mapping, to_config
from ..standin import StandIn, put_in
from .admission import REMOTE
from .version import check_toil_version

log = logging.getLogger("wfrewrite.toil")


class CwltoolMain(StandIn):
    """``cwltool.main`` in a WDL worker, until something needs the real one. Toil's worker
    imports it after every job, a WDL one too, only to call ``_terminate_processes``, which ends
    the processes cwltool started in this process and listed in ``cwltool.utils``; where that
    was never imported, cwltool started nothing, and importing cwltool (~0.37 s of CPU, ~40 MB)
    to learn it is spared."""

    def _terminate_processes(self) -> None:
        utils = sys.modules.get("cwltool.utils")
        if utils is not None and getattr(utils, "processes_to_kill", None):
            self.real()._terminate_processes()


def spare_cwltool_import() -> None:
    """Put ``CwltoolMain`` in place (Toil's zygote for WDL workers), unless cwltool.main is
    imported already."""
    if "cwltool.main" not in sys.modules:
        import cwltool  # the package alone: a docstring and a list

        put_in(CwltoolMain("cwltool.main"))
        assert cwltool.main  # `import cwltool.main` finds it in its package


def warm_zygote() -> None:
    """Done once in the zygote, so that no worker forked from it does it for its job: Toil's
    search of every installed module for URL-access plugins (``pkgutil.iter_modules`` over
    ``sys.path``, memoized per process; ~18 ms of each worker here)."""
    from toil.lib.plugins import get_plugin_names

    get_plugin_names("url_access")


class WorkerContext:
    """Entered by Toil around every job in a worker process (pickled by the leader)."""

    def __init__(
        self, settings: dict[str, str], languages: tuple[str, ...] = ("wdl", "cwl")
    ) -> None:
        self.settings = settings
        self.languages = languages
        self._restore: list[Callable[[], None]] = []
        self._env: dict[str, str | None] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings, "languages": self.languages}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"], tuple(state.get("languages", ("wdl", "cwl"))))  # type: ignore[misc]

    def __enter__(self) -> WorkerContext:
        check_toil_version()
        # under Toil, `auto` never falls back to local: a task gets its image, or fails by name
        settings = {**self.settings, "auto_local": "false"}
        options = from_mapping(settings)
        self._restore = []
        if "wdl" in self.languages:
            from . import wdl

            self._restore.append(wdl.patch(remote=options.executor in REMOTE))
        if "cwl" in self.languages:
            from . import cwl

            self._restore.append(cwl.patch(options))
        # miniwdl's config loader (which Toil creates per task) reads MINIWDL__SECTION__KEY.
        for key, value in to_config(options).items():
            if key in settings:
                var = f"MINIWDL__WFREWRITE__{key.upper()}"
                self._env[var] = os.environ.get(var)
                os.environ[var] = value
        log.info("wfrewrite: tasks run through the %s executor", options.executor)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for restore in reversed(self._restore):
            restore()
        self._restore = []
        for key, old in self._env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self._env = {}
