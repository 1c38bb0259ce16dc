"""What the script and the code that runs it agree on, in one place on the Python side.

    EXIT_CODES["staging_failed"] == 81      # the script's exit code, the manifest's "exit_code"
    STATUS_BY_EXIT[87] == "upload_failed"

The shell side is ``wf_exit_code`` in ``runtime/sh/lib.sh`` (one ``case`` table, used by
``wf_fail`` and the EXIT trap); a test holds the two tables to each other. The names the data
section defines are listed, with when each is defined, in ``runtime/sh/contract.sh``.
"""

from __future__ import annotations

# Script outcomes (the manifest's "status") and the script's exit code for each.
EXIT_CODES: dict[str, int] = {
    "succeeded": 0,
    "probe_failed": 80,
    "staging_failed": 81,
    "command_failed": 82,
    "command_tempfail": 83,
    "collection_failed": 84,
    "internal_error": 85,
    "terminated": 86,
    "upload_failed": 87,
}
STATUS_BY_EXIT: dict[int, str] = {v: k for k, v in EXIT_CODES.items()}

# The data section's names are listed here, one a line (see its header for the tags).
CONTRACT_FILE = "contract.sh"
