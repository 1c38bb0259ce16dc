"""The Toil versions whose internals wfrewrite's hook was written for, checked before any patch.

check_toil_version()   # RuntimeError on another Toil, unless WFREWRITE_ANY_TOIL=1
"""

from __future__ import annotations

import os

TOIL_VERSIONS = ("9.6.0",)


def check_toil_version() -> None:
    from toil.version import baseVersion

    if baseVersion not in TOIL_VERSIONS and not os.environ.get("WFREWRITE_ANY_TOIL"):
        raise RuntimeError(
            f"wfrewrite's --no-appliance hook supports Toil {', '.join(TOIL_VERSIONS)}, found "
            f"{baseVersion} (set WFREWRITE_ANY_TOIL=1 to try anyway)"
        )
