"""Transports: how a task's bytes reach its container and come back (see ``base``).

    mounted.py   the task's directory is mounted; inputs linked or copied from a staging dir
    url.py       nothing is mounted; the script GETs its inputs and PUTs/POSTs its outputs over
                 HTTP (stores.py: HTTP/WebDAV and S3 stores, presigned)
    platform.py  the platform moves them (TES inputs and outputs)

``for_options`` makes the one an executor is given; a new transport is a module here, a class
with the hooks of ``base.Transport``, a ``runtime/sh/transport_<name>.sh`` and a name in
``wfrewrite.runtime.options.TRANSPORTS``.
"""

from __future__ import annotations

from wfrewrite.compiler.diagnostics import WfError

from ..options import Options
from .base import Transport
from .mounted import MountedTransport


def for_options(
    options: Options, default: str, allowed: tuple[str, ...], executor: str
) -> Transport:
    """The transport ``options`` names (or the executor's ``default``), if the executor takes it."""
    name = options.transport or default
    if name not in allowed:
        raise WfError(
            f"the {executor} executor takes the transports {', '.join(allowed)}, not {name!r}"
        )
    if name == "mounted":
        return MountedTransport(options)
    if name == "platform":
        from .platform import PlatformTransport  # its store (http.client, urllib) only when asked

        return PlatformTransport(options)
    if name == "url":
        from .url import UrlTransport  # its stores import boto3 only when asked

        return UrlTransport(options)
    raise WfError(f"unknown transport {name!r}")


__all__ = ["MountedTransport", "Transport", "for_options"]
