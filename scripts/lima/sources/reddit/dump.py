"""Reading Pushshift dumps: file discovery, streaming zstd with the 2 GiB window, and one
normalised view of the rows of every era.

Pushshift compressed with `--long=31`, so a default decoder refuses the files ("Frame requires too
much memory"); we allow a 2**31 window (DATA_SOURCES.md 2.2). A stream that stops inside a frame
is an error: `ZstdFile` follows the frame and block headers to tell. Lines are split on the byte
`\n` (never part of a multi-byte UTF-8 character) and decoded one whole line at a time, so a
character cut by a chunk boundary is joined before decoding. Memory is the decoder window plus a
few blocks, whatever the file size.

Speed (issue 4 asks for half the rate of `zstd -dc`): the stage reads through `DumpReader`, whose
forked child process decodes straight into a ring of shared-memory blocks and counts their lines,
while the parent finds the lines worth parsing in the previous block (lima.sources.reddit.prefilter) and
applies the rules; the decoder releases the GIL but the scan and the rules hold it, so a thread
would not do. JSON is parsed (with orjson) only for the lines the prefilter keeps.
"""
from __future__ import annotations

import functools
import json
import mmap
import multiprocessing
import os
import re
import signal
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson
import zstandard

from lima.errors import StageError

MAX_WINDOW = 2 ** 31          # --long=31, the Pushshift setting (DATA_SOURCES.md 2.2)
READ_SIZE = 1 << 16           # compressed bytes the decoder takes in at once (~1 MB out)
BLOCK_SIZE = 4 << 20          # decompressed bytes per block: one ring slot, one prefilter scan
DECODE_STEP = 1 << 18         # bytes decoded at once into a slot (counted while in cache)
SLOTS = 8                     # shared-memory blocks in flight between the decoder and the scanner
MAX_LINE = 64 << 20           # no real row is near this; past it the file is not NDJSON
DELETED = frozenset({"[deleted]", "[removed]", "[deleted by user]"})

_MONTHLY = re.compile(r"^(RS|RC)_(\d{4})-(\d{2})\.zst$")
_PER_SUB = re.compile(r"^(\w+)_(submissions|comments)\.zst$", re.I)


@dataclass(frozen=True)
class Dump:
    path: Path
    kind: str                  # "submissions" or "comments"
    subreddit: str | None      # lower-cased; None for a monthly file (all of Reddit)

    @property
    def name(self) -> str:
        return self.path.name


def classify_dump(path: Path) -> Dump | None:
    m = _MONTHLY.match(path.name)
    if m:
        return Dump(path, "submissions" if m.group(1) == "RS" else "comments", None)
    m = _PER_SUB.match(path.name)
    if m:
        return Dump(path, m.group(2).lower(), m.group(1).lower())
    return None


def find_dumps(paths: list[str | Path]) -> list[Dump]:
    """Expand folders (recursively, sorted) and classify each file by its Pushshift name."""
    dumps: dict[Path, Dump] = {}
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*.zst")):
                d = classify_dump(f)
                if d:
                    dumps.setdefault(f.resolve(), d)
        elif p.is_file():
            d = classify_dump(p)
            if d is None:
                raise StageError(p, "not a Pushshift dump name (expected RS_YYYY-MM.zst, RC_YYYY-MM.zst, "
                                    "<Subreddit>_submissions.zst or <Subreddit>_comments.zst)")
            dumps.setdefault(p.resolve(), d)
        else:
            raise StageError(p, "no such file or folder")
    return sorted(dumps.values(), key=lambda d: (d.kind != "submissions", d.path.as_posix()))


# ---- streaming ---------------------------------------------------------------------------------
def iter_decompressed(path: Path, piece_size: int = BLOCK_SIZE, read_size: int = READ_SIZE) -> Iterator[bytes]:
    """Decompressed pieces (at most `piece_size` bytes, cut anywhere, even inside a character) of
    a .zst file, across frames; StageError if it is not zstd, empty, or cut inside a frame."""
    with ZstdFile(path, read_size) as f:
        while piece := f.read(piece_size):
            yield piece


class ZstdFile:
    """A .zst file decoded as it is read (`read`, or `readinto` a buffer we own, which spares a
    copy), across frames, with the 2 GiB window; errors are StageErrors naming the file. At the
    end it checks that the stream stopped between two frames: python-zstandard's reader ends
    cleanly on a truncated file, so `_Frames` follows the frame and block headers itself."""

    def __init__(self, path: Path, read_size: int = READ_SIZE):
        self.path = path
        try:
            self.raw = open(path, "rb")
        except OSError as e:
            raise StageError(path, f"cannot open ({e.strerror})") from e
        self.frames = _Frames(self.raw)
        self.reader = _decompressor().stream_reader(self.frames, read_size=read_size, read_across_frames=True)

    def __enter__(self) -> "ZstdFile":
        return self

    def __exit__(self, *exc) -> None:
        self.raw.close()

    def read(self, size: int) -> bytes:
        return self._end_checked(self._decode(self.reader.read, size))

    def readinto(self, view) -> int:
        """Decode into `view` (not empty); 0 at the end."""
        return self._end_checked(self._decode(self.reader.readinto, view))

    def _decode(self, method, arg):
        try:
            return method(arg)
        except zstandard.ZstdError as e:
            raise StageError(self.path, f"not a readable zstd stream ({_zstd_reason(e)})") from e

    def _end_checked(self, got):
        if not got:
            problem = self.frames.problem()
            if problem:
                raise StageError(self.path, problem)
        return got


class _Frames:
    """Follows the frame and block headers of a zstd stream (RFC 8878, 3.1) as its bytes go by
    to the decoder, to tell a stream that stops inside a frame from a whole one; costs one step
    per block (128 KiB of output at most), not per byte."""

    MAGIC, SKIPPABLE = 0xFD2FB528, 0x184D2A50

    def __init__(self, raw):
        self.raw = raw
        self.total = 0                 # compressed bytes read
        self.state, self.need, self.head = "magic", 4, bytearray()
        self.skip = 0                  # bytes to pass over before the next header
        self.checksum = False          # the frame being read ends with a 4-byte checksum
        self.bad = False               # not a zstd stream: the decoder says why

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.total += len(data)
        if not self.bad:
            self._walk(data)
        return data

    def problem(self) -> str | None:
        """Why the stream read so far is not a whole one, or None."""
        if self.total == 0:
            return "empty file (0 bytes), not a zstd stream"
        if self.bad:
            return "not a readable zstd stream (no zstd frame where one should start)"
        if self.state != "magic" or self.head or self.skip:
            return "truncated: the zstd stream ends inside a frame (incomplete download?)"
        return None

    def _walk(self, data: bytes) -> None:
        pos, n = 0, len(data)
        while pos < n:
            if self.skip:
                step = min(self.skip, n - pos)
                self.skip -= step
                pos += step
                continue
            take = min(self.need - len(self.head), n - pos)
            self.head += data[pos:pos + take]
            pos += take
            if len(self.head) == self.need:
                head = int.from_bytes(self.head, "little")
                self.head.clear()
                self._header(head)

    def _header(self, value: int) -> None:
        """Act on a whole header; set what comes next (`state`, `need`) and what to pass over."""
        if self.state == "magic":
            if value == self.MAGIC:
                self.state, self.need = "descriptor", 1
            elif value & 0xFFFFFFF0 == self.SKIPPABLE:
                self.state, self.need = "skippable", 4
            else:
                self.bad = True
        elif self.state == "skippable":         # its length, then its bytes
            self.state, self.need, self.skip = "magic", 4, value
        elif self.state == "descriptor":        # Frame_Header_Descriptor: what follows it
            single_segment = value >> 5 & 1
            self.checksum = bool(value >> 2 & 1)
            self.skip = ((not single_segment) + (0, 1, 2, 4)[value & 3]
                         + ((single_segment, 2, 4, 8)[value >> 6]))   # window, dictionary id, content size
            self.state, self.need = "block", 3
        elif self.state == "block":             # Last_Block (1 bit), Block_Type (2), Block_Size (21)
            self.skip = 1 if (value >> 1 & 3) == 1 else value >> 3     # an RLE block holds one byte
            if value & 1:
                self.state, self.need = ("checksum", 4) if self.checksum else ("magic", 4)
        elif self.state == "checksum":
            self.state, self.need = "magic", 4


@functools.lru_cache(maxsize=1)
def _decompressor() -> zstandard.ZstdDecompressor:
    """One decoder context for all files: its window memory, once paged in, serves the next file
    too (a fresh context would fault in up to 2 GiB again)."""
    return zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW)


def _zstd_reason(e: Exception) -> str:
    msg = str(e).replace("zstd decompress error: ", "")
    if "too much memory" in msg:
        msg += f"; the window exceeds 2**{MAX_WINDOW.bit_length() - 1}"
    return msg


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


# ---- rows ---------------------------------------------------------------------------------------
def parse_line(line: bytes) -> tuple[dict | None, str | None]:
    """(row, None) or (None, drop reason) for one NDJSON line. orjson parses a row more than
    twice as fast as `json`; `json` takes what orjson refuses (NaN, lone surrogates: it decides
    the drop reason), and the rows where orjson read an integer field the rules use past 64 bits
    as a float."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    else:
        if isinstance(row, dict) and not any(isinstance(row.get(k), float) and abs(row[k]) >= 2 ** 63
                                             for k in INT_FIELDS):
            return row, None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, "bad_utf8"
    if not text.strip():
        return None, "blank_line"
    try:
        row = json.loads(text)
    except (ValueError, RecursionError):
        return None, "bad_json"
    if not isinstance(row, dict):
        return None, "not_an_object"
    return row, None


INT_FIELDS = ("score", "num_comments", "created_utc")     # the integers the rules read (`as_int`)


def as_int(value: Any) -> int | None:
    """`created_utc` and `score` are ints, strings or floats depending on the era."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def strip_prefix(value: Any) -> str | None:
    """`t3_abc` -> `abc`; ids are stored with and without their type prefix."""
    if not isinstance(value, str) or not value:
        return None
    return value.split("_", 1)[1] if value[:3] in {"t1_", "t3_"} else value


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def removal_of(row: dict, text_field: str) -> str | None:
    """Why a post or comment is gone, across eras: a `[removed]`/`[deleted]` body, a
    `removed_by_category` (2019 on), or arctic_shift's `_meta.removal_type`."""
    body = text_of(row.get(text_field)).strip()
    if body in DELETED:
        return body.strip("[]")
    if row.get("removed_by_category"):
        return f"removed_by_{row['removed_by_category']}"
    meta = row.get("_meta")
    if isinstance(meta, dict) and meta.get("removal_type"):
        return f"removed_{meta['removal_type']}"
    return None


def normalise_post(row: dict) -> dict:
    """The fields the rules need, whatever the era (missing ones get neutral values)."""
    return {
        "id": strip_prefix(row.get("id")) or strip_prefix(row.get("name")),
        "subreddit": text_of(row.get("subreddit")).lower(),
        "title": text_of(row.get("title")),
        "selftext": text_of(row.get("selftext")),
        "author": text_of(row.get("author")) or "[deleted]",
        "score": as_int(row.get("score")) or 0,
        "num_comments": as_int(row.get("num_comments")),
        "created_utc": as_int(row.get("created_utc")),
        "over_18": as_bool(row.get("over_18")),
        "stickied": as_bool(row.get("stickied")),
        "distinguished": text_of(row.get("distinguished")),
        "is_self": as_bool(row.get("is_self", True)),
        "removed": removal_of(row, "selftext") or (
            "deleted" if text_of(row.get("title")).strip() in DELETED else None),
    }


def normalise_comment(row: dict) -> dict:
    parent = text_of(row.get("parent_id"))
    return {
        "id": strip_prefix(row.get("id")) or strip_prefix(row.get("name")),
        "link_id": strip_prefix(row.get("link_id")),
        "top_level": parent.startswith("t3_"),
        "subreddit": text_of(row.get("subreddit")).lower(),
        "body": text_of(row.get("body")),
        "author": text_of(row.get("author")) or "[deleted]",
        "score": as_int(row.get("score")) or 0,
        "created_utc": as_int(row.get("created_utc")),
        "stickied": as_bool(row.get("stickied")),
        "distinguished": text_of(row.get("distinguished")),
        "removed": removal_of(row, "body"),
    }
