"""What every numbered script needs around its work: logging set-up and one-line fatal errors.

Only the scripts import this module; library code raises `lima.errors.StageError`.
"""
from __future__ import annotations

import logging
import sys
from typing import Callable

from lima.errors import StageError, disk_full, disk_full_message


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")


def run_main(main: Callable[[list[str] | None], int | None], argv=None) -> int:
    """Run a script's main(); turn StageError, and a full disk wherever it strikes, into the one-line
    error and exit code 2."""
    try:
        return main(argv) or 0
    except StageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if not disk_full(e):
            raise
        print(f"error: {e.filename or 'an output'}: {disk_full_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
