"""Toil plugin module (found by Toil's discovery of ``toil_batch_system_*`` modules).

It registers the ``wfrewrite`` batch system, whose options (``--no-appliance``,
``--wfrewrite-executor``...) Toil then offers with every batch system. See
``wfrewrite.runtime.engines.toil``.
"""

from toil.batchSystems.registry import add_batch_system_factory


def _wfrewrite_batch_system() -> type:
    from wfrewrite.runtime.engines.toil.batch import batch_system_class

    return batch_system_class()


add_batch_system_factory("wfrewrite", _wfrewrite_batch_system)
