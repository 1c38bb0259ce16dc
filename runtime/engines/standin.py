"""A module that stands in for another until something needs the real one.

    put_in(DockerErrors("docker.errors"))   # engines/miniwdl.py, before miniwdl's first task
    from docker.errors import BuildError    # the stand-in's own class: nothing imported
    import docker                           # asks for names it lacks: the real module now

An engine whose library imports a heavy module for one name it seldom needs puts a ``StandIn``
subclass with that name in ``sys.modules`` (and in its package); the first other name asked of
it puts the real module in its place and answers from it, so the stand-in changes what runs
only where its own names answer exactly as the real module would.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class StandIn(types.ModuleType):
    """A stand-in for the module of its name; a subclass defines the names it answers."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # what the import system asks (__path__: not a package)
            raise AttributeError(name)
        return getattr(self.real(), name)

    def real(self) -> types.ModuleType:
        """The real module, imported now (and in ``sys.modules`` and its package from now on);
        the stand-in answers from it too."""
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return module


def put_in(stand_in: StandIn) -> None:
    """Make ``stand_in`` what importing its name gives, and its package's attribute where the
    package is imported already (``import a.b`` needs that; ``from a.b import c`` does not)."""
    package, _, leaf = stand_in.__name__.rpartition(".")
    sys.modules[stand_in.__name__] = stand_in
    if package in sys.modules:
        setattr(sys.modules[package], leaf, stand_in)
