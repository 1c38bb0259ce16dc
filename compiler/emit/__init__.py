"""The emitter: a plan becomes a script (``script``), and, where a platform is asked for, that
platform's task spec around it (``tes``: a GA4GH TES task; ``k8s``: a Kubernetes Job).

    from wfrewrite.compiler.emit import emit, q
    text = emit(plan)            # header, data section, runtime/sh/*.sh, 'wf_main "$@"'

``contract`` holds what the script and its drivers agree on: the outcomes and their exit codes
(the same table as ``runtime/sh/lib.sh``'s), and where the list of the data section's names is
(``runtime/sh/contract.sh``).
"""

from .script import data_section, emit, printf_format, q, runtime_source, stage_list, tools_needed

__all__ = [
    "data_section",
    "emit",
    "printf_format",
    "q",
    "runtime_source",
    "stage_list",
    "tools_needed",
]
