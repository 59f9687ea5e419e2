"""What every numbered script needs around its work: logging, progress bars, seeded RNGs and
one-line fatal errors.

A user-facing failure is one line, `error: <file>: <what is wrong>`, and exit code 2; a traceback
is never the only message.
"""
from __future__ import annotations

import hashlib
import logging
import os
import random
import sys
from typing import Callable, Iterable

log = logging.getLogger("lima")


class StageError(Exception):
    """A problem with an input the user must fix; printed as one line, exit code 2."""

    def __init__(self, path, message: str):
        super().__init__(str(path), message)
        self.path = str(path)
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")


def progress(iterable: Iterable | None = None, **kwargs):
    """A tqdm bar on stderr, hidden when stderr is not a terminal (CI logs stay readable)."""
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("disable", not kwargs["file"].isatty())
    kwargs.setdefault("dynamic_ncols", True)
    if kwargs["disable"] or (kwargs["disable"] is None and not kwargs["file"].isatty()):
        return _HiddenBar(iterable, kwargs.get("initial", 0))
    from tqdm import tqdm      # here, not at the top: the import is a third of a stage's start-up
    return tqdm(iterable, **kwargs)


class _HiddenBar:
    """What a hidden tqdm bar does, without importing tqdm."""

    def __init__(self, iterable, initial: int = 0):
        self.iterable, self.n = iterable, initial

    def __iter__(self):
        return iter(self.iterable)

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "_HiddenBar":
        return self

    def __exit__(self, *exc) -> None:
        pass


def make_rng(seed: int, *salt) -> random.Random:
    """A random stream that depends only on the seed and the salt (e.g. an example id), so a
    choice made for one item does not shift when other items come or go."""
    key = "\x1f".join([str(seed), *map(str, salt)]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def run_main(main: Callable[[list[str] | None], int | None], argv=None) -> int:
    """Run a script's main(); turn StageError into the one-line error and exit code 2."""
    try:
        return main(argv) or 0
    except StageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default
