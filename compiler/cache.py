"""The user's cache: what wfrewrite works out once and keeps, under one directory.

    cache_root()                  # "$XDG_CACHE_HOME/wfrewrite", else "~/.cache/wfrewrite"
    private_dir("cwl-schemas")    # made (0700) and returned; "" if it is not the user's own
                                  # or others may write to it: no cache then
    write_entry(path, data)       # whole or not at all (a reader never sees half of it)
    prune(directory, ".pickle", 256)  # only the 256 newest of those entries stay

The miniwdl parser tables (compiler/wdl/load.py), parsed WDL documents (compiler/wdl/kept.py)
and CWL's parsed schemas (compiler/cwl/schemas.py) are pickles, kept only in a
``private_dir``, as is the list of miniwdl plugins the installed packages declare
(runtime/engines/miniwdl.py); whether an image has /bin/sh
(runtime/exec/container.py) is one word under ``cache_root()``. Each entry is keyed by what it
was made from, so deleting any of it costs the next run its start-up time, nothing else.
"""

from __future__ import annotations

import contextlib
import os
import threading


def cache_root() -> str:
    top = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(top, "wfrewrite")


def private_dir(*parts: str) -> str:
    """``cache_root()/parts``, made if need be; "" where it cannot be, is not owned by this
    user, or is writable by others (a pickle read from there could run anyone's code)."""
    path = os.path.join(cache_root(), *parts)
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.stat(path)
    except OSError:
        return ""
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        return ""
    return path


def write_entry(path: str, data: bytes, mode: int = 0o600) -> None:
    """``data`` at ``path``, whole: written beside it under a name of this process and thread,
    then renamed over it; OSError if it cannot be (a cache that cannot be written is no cache:
    the callers carry on without)."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}"
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def prune(directory: str, suffix: str, keep: int) -> None:
    """Only the ``keep`` newest entries of ``directory`` whose names end in ``suffix`` stay;
    one another process removed first is passed over. OSError if the directory cannot be
    listed."""
    entries = sorted(
        (e for e in os.scandir(directory) if e.name.endswith(suffix)),
        key=lambda e: e.stat().st_mtime_ns,
        reverse=True,
    )
    for e in entries[keep:]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(e.path)
