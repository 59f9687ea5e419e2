"""Blocks of whole lines from the dumps, decoded by the zstd command in a child process or in this one.

Lines are split on the byte `\n` (never part of a multi-byte UTF-8 character), so a character cut
between two decoded pieces is joined before any line is decoded.

Speed: the stage reads through `DumpReader`, which pipes each file through `zstd -dc --long=31`:
the zstd process decodes on the other core while this one finds the lines worth parsing
(lima.sources.reddit.prefilter) and applies the rules. Without the zstd command, or with
`child=False`, the file is decoded in this process (python-zstandard), the same lines without the
overlap. A forked decoder writing into a ring of shared-memory blocks was measured against this
pipe (scripts/bench/reddit.py) and was not worth its 200 more lines: 1.04-1.14x the pipe's speed on
monthly files, 1.34-1.39x on per-subreddit ones, where 1.3x on both was asked of it.
"""
from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path
from typing import Iterable, Iterator

from lima.errors import StageError
from lima.sources.reddit.zstd_stream import iter_decompressed

BLOCK_SIZE = 4 << 20          # decompressed bytes per block: one read from the decoder, one prefilter scan
MAX_LINE = 64 << 20           # no real row is near this; past it the file is not NDJSON
PIPE_BYTES = 1 << 20          # the pipe's buffer, raised from 64 KiB so zstd runs ahead of the scan


def iter_blocks(path: Path, block_size: int = BLOCK_SIZE) -> Iterator[tuple[bytes, int]]:
    """(buffer, end): buffer[:end] holds whole lines, each ending in `\n` (the file's last line
    may lack one). A multi-byte character cut between two pieces is rejoined here."""
    carry = b""
    for piece in iter_decompressed(path, block_size):
        buf = carry + piece if carry else piece
        cut = buf.rfind(b"\n")
        if cut < 0:
            carry = buf
            if len(carry) > MAX_LINE:
                raise StageError(path, f"a line longer than {MAX_LINE >> 20} MiB: not NDJSON")
            continue
        carry = buf[cut + 1:]
        yield buf, cut + 1
    if carry:
        yield carry + b"\n", len(carry) + 1


def scan_blocks(path: Path, block_size: int = BLOCK_SIZE) -> Iterator[tuple[bytes, int, int, int]]:
    """(buffer, start, end, lines): buffer[start:end] holds `lines` whole lines, each ending in
    `\n` (the file's last line may lack one). Unlike `iter_blocks`, a decoded piece is never
    copied: the line cut between two pieces comes as its own small block."""
    return line_blocks(iter_decompressed(path, block_size), path)


def line_blocks(pieces: Iterable[bytes], path: Path) -> Iterator[tuple[bytes, int, int, int]]:
    """`scan_blocks` over pieces of decoded bytes from any decoder."""
    carry = b""
    for piece in pieces:
        first = piece.find(b"\n")
        if first < 0:
            carry += piece
            if len(carry) > MAX_LINE:
                raise StageError(path, f"a line longer than {MAX_LINE >> 20} MiB: not NDJSON")
            continue
        start = 0
        if carry:
            start = first + 1
            yield carry + piece[:start], 0, len(carry) + start, 1
        last = piece.rfind(b"\n") + 1
        if last > start:
            yield piece, start, last, piece.count(b"\n", start, last)
        carry = piece[last:]
    if carry:
        yield carry + b"\n", 0, len(carry) + 1, 1


class DumpReader:
    """The blocks of `scan_blocks` for each file, each decoded by `zstd -dc --long=31` in a child
    process when the command is there and `child` is set, else in this process.

        with DumpReader(paths, block_size) as reader:
            for path in paths:
                for buf, start, end, lines in reader.blocks(path): ...

    The buffer a block comes in is not reused. A file zstd cannot read raises the StageError the
    in-process reader gives for it (truncated, not zstd, empty), after the lines before the damage."""

    def __init__(self, paths: list[Path], block_size: int = BLOCK_SIZE, child: bool = True):
        self.block_size = block_size
        self.zstd = shutil.which("zstd") if child else None
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "DumpReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()           # a file left unread (no candidates), or an error
            self.proc.wait()

    def blocks(self, path: Path) -> Iterator[tuple[bytes, int, int, int]]:
        if self.zstd is None:
            yield from scan_blocks(path, self.block_size)
            return
        self.proc = proc = subprocess.Popen([self.zstd, "-dcq", "--long=31", "--", str(path)],
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except (OSError, AttributeError):
            pass                       # a lower /proc/sys/fs/pipe-max-size: the 64 KiB pipe works too
        try:
            yield from line_blocks(iter(lambda: proc.stdout.read(self.block_size), b""), path)
        except BaseException:          # the caller stopped reading (GeneratorExit), or a line too long
            self.close()
            raise
        finally:
            proc.stdout.close()
        if proc.wait():
            for _ in iter_decompressed(path, self.block_size):   # the in-process reader names the problem
                pass
            raise StageError(path, f"zstd could not decompress it (exit code {proc.returncode})")
