"""The one error a user sees: `error: <file>: <what is wrong>`, exit code 2.

Library code raises `StageError` for a problem with an input the user must fix; the numbered
scripts' `run_main` (lima.cli) prints it as one line. A traceback is never the only message.
"""
from __future__ import annotations


class StageError(Exception):
    """A problem with an input the user must fix; printed as one line, exit code 2."""

    def __init__(self, path, message: str):
        super().__init__(str(path), message)
        self.path = str(path)
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"
