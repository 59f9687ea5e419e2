"""Blocks of whole lines from the dumps, decoded in this process or in a forked child.

Lines are split on the byte `\n` (never part of a multi-byte UTF-8 character), so a character cut
between two decoded pieces is joined before any line is decoded.

Speed: the stage reads through `DumpReader`, whose forked child process decodes straight into a
ring of shared-memory blocks and counts their lines, while the parent finds the lines worth
parsing in the previous block (lima.sources.reddit.prefilter) and applies the rules. The decoder
releases the GIL but the scan and the rules hold it, so a thread would not do; decoding inline
(`child=False`) is the same reading without the overlap.
"""
from __future__ import annotations

import mmap
import multiprocessing
import os
import signal
import struct
import threading
from pathlib import Path
from typing import Iterator

from lima.errors import StageError
from lima.sources.reddit.zstd_stream import ZstdFile, iter_decompressed

BLOCK_SIZE = 4 << 20          # decompressed bytes per block: one ring slot, one prefilter scan
DECODE_STEP = 1 << 18         # bytes decoded at once into a slot (counted while in cache)
SLOTS = 8                     # shared-memory blocks in flight between the decoder and the scanner
MAX_LINE = 64 << 20           # no real row is near this; past it the file is not NDJSON


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
    carry = b""
    for piece in iter_decompressed(path, block_size):
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
    """The blocks of `scan_blocks` for a list of files, read in that order. With `child`, one
    forked child process decodes the files one after the other into a ring of shared-memory
    slots (see the module docstring); the parent scans a slot while the child fills the next,
    and the child's warm decoder window serves every file.

        with DumpReader(paths, block_size) as reader:
            for path in paths:
                for buf, start, end, lines in reader.blocks(path): ...

    `blocks(path)` must be called in the order of `paths`, each consumed to its end (or the
    reader closed); the buffer it yields is reused once the next block is asked for. An
    unreadable file raises its StageError from `blocks` of that file, as when reading in this
    process."""

    def __init__(self, paths: list[Path], block_size: int = BLOCK_SIZE, child: bool = True, slots: int = SLOTS):
        self.paths, self.block_size, self.done = list(paths), block_size, 0
        self.proc, self.finished = None, False
        if child and self.paths:
            self.ring = mmap.mmap(-1, slots * block_size)     # anonymous and shared with the child
            msg_r, msg_w = os.pipe()
            free_r, free_w = os.pipe()
            os.write(free_w, bytes(slots))                     # every slot starts free
            self.proc = multiprocessing.get_context("fork").Process(
                target=_decode_in_child, args=(self.paths, self.ring, block_size, slots, msg_w, free_r, (msg_r, free_w)),
                name="reddit-zstd", daemon=True)
            try:
                self.proc.start()
            finally:
                os.close(msg_w)        # from here on, EOF on the pipe means the child is gone
                os.close(free_r)
            self.messages = open(msg_r, "rb", buffering=1 << 16)
            self.free = free_w

    def __enter__(self) -> "DumpReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.proc is not None:
            self.messages.close()
            os.close(self.free)
            if self.done < len(self.paths) or not self.finished:
                self.proc.terminate()  # files left unread (no candidates), or an error
                self.proc.join()
            # else the child is ending by itself: returning its window's memory takes a few
            # hundredths of a second, which need not hold us up (multiprocessing reaps it)
            self.proc = None
            try:
                self.ring.close()
            except BufferError:        # a caller still holds a view of it; the GC frees it
                pass

    def blocks(self, path: Path) -> Iterator[tuple[bytes, int, int, int]]:
        if self.done >= len(self.paths) or self.paths[self.done] != path:
            raise ValueError(f"{path}: not the next file of this reader")
        self.done += 1
        if self.proc is None:
            yield from scan_blocks(path, self.block_size)
            return
        while True:
            kind, slot, size, lines = _HEADER.unpack(self._read(_HEADER.size, path))
            if kind == b"D":
                self.finished = self.done == len(self.paths)
                return
            if kind == b"B":
                start = slot * self.block_size
                yield self.ring, start, start + size, lines
                try:
                    os.write(self.free, b"\0")      # the slot may be filled again
                except BrokenPipeError:
                    pass               # the child has finished (or died: the next read says so)
            elif kind == b"L":
                yield self._read(size, path), 0, size, 1
            else:
                raise StageError(path, self._read(size, path).decode("utf-8", "replace"))

    def _read(self, size: int, path: Path) -> bytes:
        data = self.messages.read(size)
        if len(data) < size:           # EOF: the child died without a word
            self.proc.join()
            raise StageError(path, f"the decompressor process stopped (exit code {self.proc.exitcode})")
        return data


_HEADER = struct.Struct("<cIQQ")   # kind, slot, payload bytes, lines. B: a block in a slot; L: one line
                                   # longer than a slot, in the payload; E: an error message; D: end of file


class _RingWriter:
    """The child's side of the ring: decodes straight into the current slot and hands the slot
    over, cut after its last newline, when it is full; the cut line's start moves to the next
    slot. A line longer than a whole slot is collected apart and sent through the pipe."""

    def __init__(self, ring: mmap.mmap, slot_size: int, slots: int, msg_fd: int, free_fd: int):
        self.ring, self.size, self.slots, self.msg_fd, self.free_fd = ring, slot_size, slots, msg_fd, free_fd
        self.slot = self.fill = self.lines = 0     # lines: newlines in the slot so far
        self.long: bytearray | None = None
        self.is_newline = None          # numpy's scratch for counting newlines
        self._take_slot()

    def _take_slot(self) -> None:
        if not os.read(self.free_fd, 1):
            raise BrokenPipeError("the reader is gone")

    def _send(self, kind: bytes, size: int = 0, lines: int = 0, payload: bytes = b"") -> None:
        _write_all(self.msg_fd, _HEADER.pack(kind, self.slot, size, lines) + payload)

    def read_file(self, path: Path) -> None:
        """All of one file into the ring, then D. The decoder writes a step at a time, and the
        step's lines are counted while it is still in the CPU's cache."""
        with ZstdFile(path) as f, memoryview(self.ring) as ring:
            while True:
                base = self.slot * self.size
                got = f.readinto(ring[base + self.fill:base + min(self.fill + DECODE_STEP, self.size)])
                if not got:
                    break
                self.fill += got
                if self.long is None:
                    self.lines += self._count_newlines(base + self.fill - got, base + self.fill)
                else:
                    self._end_long_line(base, base + self.fill - got)
                if self.fill == self.size:
                    self._hand_over()
        if self.long is not None or (self.fill and self.ring[self.slot * self.size + self.fill - 1] != 10):
            self._end_last_line()       # the file's last line had no newline
        if self.fill:
            self._send(b"B", self.fill, self.lines)
            self._next_slot()
            self.fill = self.lines = 0
        self._send(b"D")

    def _end_last_line(self) -> None:
        if self.fill == self.size:
            self._hand_over()
        base = self.slot * self.size
        if self.long is not None:
            self.long += self.ring[base:base + self.fill] + b"\n"
            self._send_long()
            self.fill = self.lines = 0
        else:
            self.ring[base + self.fill] = 10
            self.fill += 1
            self.lines += 1

    def _hand_over(self) -> None:
        """Send the full slot up to its last newline (all its counted lines) and start the next
        one with the rest."""
        base = self.slot * self.size
        cut = self.ring.rfind(b"\n", base, base + self.fill) + 1 - base
        if cut <= 0:                   # one line fills the whole slot: it goes the long way
            self.long = (self.long or bytearray()) + self.ring[base:base + self.fill]
            if len(self.long) > MAX_LINE:
                raise StageError("", f"a line longer than {MAX_LINE >> 20} MiB: not NDJSON")
            self.fill = 0
            return
        self._send(b"B", cut, self.lines)
        self._next_slot()
        rest = self.fill - cut
        new = self.slot * self.size
        self.ring[new:new + rest] = self.ring[base + cut:base + self.fill]
        self.fill, self.lines = rest, 0

    def _end_long_line(self, base: int, new_from: int) -> None:
        """If the bytes just decoded end the long line, send it and keep the rest in the slot."""
        nl = self.ring.find(b"\n", new_from, base + self.fill)
        if nl < 0:
            return
        self.long += self.ring[base:nl + 1]
        self._send_long()
        rest = base + self.fill - nl - 1
        self.ring[base:base + rest] = self.ring[nl + 1:base + self.fill]
        self.fill, self.lines = rest, self._count_newlines(base, base + rest)

    def _send_long(self) -> None:
        self._send(b"L", len(self.long), 1, self.long)
        self.long = None

    def _next_slot(self) -> None:
        self.slot = (self.slot + 1) % self.slots
        self._take_slot()

    def _count_newlines(self, start: int, end: int) -> int:
        """numpy counts three times faster than `bytes.count` (on a copy), once a thread of
        ours has imported it, which takes as long as decoding 100 MB (see `_decode_in_child`)."""
        np = _NUMPY.get("numpy")
        if np is None:
            return self.ring[start:end].count(b"\n")
        if self.is_newline is None:
            self.is_newline = np.empty(max(self.size, DECODE_STEP), dtype=bool)
        flags = self.is_newline[:end - start]
        np.equal(np.frombuffer(self.ring, np.uint8, end - start, start), 10, out=flags)
        return int(np.count_nonzero(flags))

    def error(self, message: str) -> None:
        payload = message.encode()
        self._send(b"E", len(payload), 0, payload)


_NUMPY: dict = {}


def _import_numpy() -> None:
    """numpy for the child, with one BLAS thread, since a thread pool would spin on the core
    the parent scans with."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import numpy
    _NUMPY["numpy"] = numpy


def _decode_in_child(paths: list[Path], ring: mmap.mmap, slot_size: int, slots: int,
                     msg_fd: int, free_fd: int, parent_ends: tuple[int, int]) -> None:
    """The child's side of `DumpReader`: for each file its blocks then D, or one E with the
    StageError's message, which ends the child. A parent that dies closes both pipes, so the
    next write or wait for a slot fails and the child ends too."""
    for fd in parent_ends:
        os.close(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # ^C reaches the parent, which stops us
    # numpy's import runs beside the decoding, which releases the GIL, on the core the parent
    # leaves free while it waits for its first blocks.
    threading.Thread(target=_import_numpy, name="import-numpy", daemon=True).start()
    try:
        writer = _RingWriter(ring, slot_size, slots, msg_fd, free_fd)
        for path in paths:
            try:
                writer.read_file(path)
            except StageError as e:
                writer.error(e.message)
                return
            except BrokenPipeError:
                raise
            except Exception as e:     # noqa: BLE001 - whatever it is, the parent reports it for this file
                writer.error(f"reading failed: {e!r}")
                return
    except BrokenPipeError:
        pass                           # the parent is gone or stopped reading
    finally:
        os.close(msg_fd)
        os.close(free_fd)


def _write_all(fd: int, data) -> None:
    with memoryview(data) as view:
        while view:
            view = view[os.write(fd, view):]
