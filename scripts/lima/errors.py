"""The one error a user sees: `error: <file>: <what is wrong>`, exit code 2.

Library code raises `StageError` for a problem with an input the user must fix; the numbered
scripts' `run_main` (lima.cli) prints it as one line. A traceback is never the only message.
"""
from __future__ import annotations

import errno

# A full disk or quota: the user frees space and reruns (outputs are written whole or not at all).
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class StageError(Exception):
    """A problem with an input the user must fix; printed as one line, exit code 2."""

    def __init__(self, path, message: str):
        super().__init__(str(path), message)
        self.path = str(path)
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def disk_full(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in DISK_FULL


def disk_full_message(e: OSError) -> str:
    return f"{e.strerror or 'no space left on device'}; free some space and rerun (nothing half-written is kept)"
