"""Reading Pushshift dumps: file discovery, streaming zstd with the 2 GiB window, line prefilters,
and one normalised view of the rows of every era.

Pushshift compressed with `--long=31`, so a default decoder refuses the files ("Frame requires too
much memory"); we allow a 2**31 window (DATA_SOURCES.md 2.2). The frames are decoded with a
`decompressobj` loop rather than `stream_reader`, because `stream_reader` returns a clean EOF on a
truncated file; here a stream that stops inside a frame is an error. Lines are split on the byte
`\n` (never part of a multi-byte UTF-8 character) and decoded one whole line at a time, so a
character cut by a chunk boundary is joined before decoding. Memory is the decoder window plus one
chunk, whatever the file size.

Speed (issue 4 asks for half the `zstd -dc` rate): the stage reads through `DumpReader`, which
runs the decoder and the line framing in a forked child process and passes whole-line blocks
through a pipe, so decoding one block overlaps with scanning the previous one (python-zstandard
and `re` both hold the GIL, so a thread would not overlap). The decoder's output size is a few MiB
(small outputs are joined and reallocated on every call, which costs more than the decoding), and
no piece is copied to prepend the tail of the previous one: a line cut between two pieces is
handed on as its own small block.

Most lines can be skipped without `json.loads`: a chunk-wide regex finds the lines that name a
wanted subreddit (monthly files), that link to a candidate post (comments), or whose score could
enter the candidate pool (per-subreddit submissions). JSON is parsed only for those.
"""
from __future__ import annotations

import functools
import json
import multiprocessing
import os
import re
import signal
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import zstandard

from lima.cli import StageError

MAX_WINDOW = 2 ** 31          # --long=31, the Pushshift setting (DATA_SOURCES.md 2.2)
READ_SIZE = 1 << 18           # compressed bytes per read: ~2 MB of NDJSON out at a ~8x ratio
BLOCK_SIZE = 4 << 20          # decompressed bytes handed on at most at once (one regex scan)
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
    dctx = _decompressor()
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise StageError(path, f"cannot open ({e.strerror})") from e
    with fh:
        dobj, fed, total = dctx.decompressobj(write_size=BLOCK_SIZE), False, 0
        while True:
            data = fh.read(read_size)
            if not data:
                break
            total += len(data)
            while data:
                try:
                    out = dobj.decompress(data)
                except zstandard.ZstdError as e:
                    raise StageError(path, f"not a readable zstd stream ({_zstd_reason(e)})") from e
                fed = True
                for i in range(0, len(out), piece_size):
                    yield out[i:i + piece_size] if len(out) > piece_size else out
                if dobj.eof:               # a frame ended; the rest starts the next frame
                    data, dobj, fed = dobj.unused_data, dctx.decompressobj(write_size=BLOCK_SIZE), False
                else:
                    data = b""
        if total == 0:
            raise StageError(path, "empty file (0 bytes), not a zstd stream")
        if fed:
            raise StageError(path, "truncated: the zstd stream ends inside a frame (incomplete download?)")


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
    forked child process decodes the files one after the other and passes the blocks through a
    pipe (see the module docstring); the pipe's bounded buffer keeps the child at most about one
    block ahead, and the child's warm decoder window serves every file.

        with DumpReader(paths, block_size) as reader:
            for path in paths:
                for buf, start, end, lines in reader.blocks(path): ...

    `blocks(path)` must be called in the order of `paths`, each consumed to its end (or the
    reader closed); the buffer it yields is reused for the next block. An unreadable file raises
    its StageError from `blocks` of that file, as when reading in this process."""

    def __init__(self, paths: list[Path], block_size: int = BLOCK_SIZE, child: bool = True):
        self.paths, self.block_size, self.done = list(paths), block_size, 0
        self.proc = self.pipe = None
        if child and self.paths:
            read_fd, write_fd = os.pipe()
            _widen_pipe(write_fd)
            self.proc = multiprocessing.get_context("fork").Process(
                target=_decode_in_child, args=(self.paths, block_size, read_fd, write_fd),
                name="reddit-zstd", daemon=True)
            try:
                self.proc.start()
            finally:
                os.close(write_fd)     # from here on, EOF on the pipe means the child is gone
            self.pipe = open(read_fd, "rb", buffering=0)
            self.buf = bytearray(block_size)

    def __enter__(self) -> "DumpReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.proc is not None:
            self.pipe.close()
            if self.proc.is_alive():
                self.proc.terminate()  # files left unread (no candidates), or an error
            self.proc.join()
            self.proc = None

    def blocks(self, path: Path) -> Iterator[tuple[bytes, int, int, int]]:
        if self.done >= len(self.paths) or self.paths[self.done] != path:
            raise ValueError(f"{path}: not the next file of this reader")
        self.done += 1
        if self.proc is None:
            yield from scan_blocks(path, self.block_size)
            return
        while True:
            head = self._read(bytearray(_HEADER.size), _HEADER.size, path)
            kind, size, lines = _HEADER.unpack(head)
            if kind == b"D":
                return
            if size > len(self.buf):
                self.buf = bytearray(size)
            self._read(self.buf, size, path)
            if kind == b"E":
                raise StageError(path, self.buf[:size].decode("utf-8", "replace"))
            yield self.buf, 0, size, lines

    def _read(self, buf: bytearray, size: int, path: Path) -> bytearray:
        """Fill buf[:size] from the pipe; EOF there means the child died without a word."""
        got = 0
        with memoryview(buf) as view:
            while got < size:
                n = self.pipe.readinto(view[got:size])
                if not n:
                    self.proc.join()
                    raise StageError(path, f"the decompressor process stopped (exit code {self.proc.exitcode})")
                got += n
        return buf


_HEADER = struct.Struct("<cQQ")    # kind (B block, E error, D end of file), payload bytes, lines in the block
_PIPE_SIZE = 1 << 20               # Linux's default pipe-max-size; fewer wake-ups than the 64 KiB default


def _widen_pipe(fd: int) -> None:
    try:
        import fcntl
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_SIZE)
    except (ImportError, OSError):
        pass                       # only slower


def _keep_buffers_on_heap() -> None:
    """glibc hands each multi-MiB decoder output a fresh mmap by default, so every block is
    page-faulted in again (that costs more than the decoding); a higher mmap threshold keeps
    them on the heap, reused. Best effort: other C libraries just skip it."""
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 << 20)     # M_MMAP_THRESHOLD (glibc's maximum)
        libc.mallopt(-1, 256 << 20)    # M_TRIM_THRESHOLD: keep freed blocks for the next ones
    except (OSError, AttributeError):
        pass


def _decode_in_child(paths: list[Path], block_size: int, read_fd: int, write_fd: int) -> None:
    """The child's side of `DumpReader`: for each file its framed blocks then D, or one E with
    the StageError's message, which ends the child. A parent that dies closes the pipe, so the
    next write fails and the child ends too."""
    os.close(read_fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # ^C reaches the parent, which stops us
    _keep_buffers_on_heap()
    try:
        try:
            for path in paths:
                for buf, start, end, lines in scan_blocks(path, block_size):
                    _write_all(write_fd, _HEADER.pack(b"B", end - start, lines))
                    with memoryview(buf) as view:
                        _write_all(write_fd, view[start:end])
                _write_all(write_fd, _HEADER.pack(b"D", 0, 0))
            return
        except BrokenPipeError:
            raise
        except StageError as e:
            message = e.message
        except Exception as e:     # noqa: BLE001 - whatever it is, the parent reports it for this file
            message = f"reading failed: {e!r}"
        payload = message.encode()
        _write_all(write_fd, _HEADER.pack(b"E", len(payload), 0) + payload)
    except BrokenPipeError:
        pass                       # the parent is gone or stopped reading
    finally:
        os.close(write_fd)


def _write_all(fd: int, data) -> None:
    with memoryview(data) as view:
        while view:
            view = view[os.write(fd, view):]


def line_at(buf: bytes, pos: int, end: int) -> tuple[int, bytes]:
    """(start, line) of the line holding byte `pos`."""
    start = buf.rfind(b"\n", 0, pos) + 1
    stop = buf.find(b"\n", pos, end)
    return start, buf[start:stop if stop >= 0 else end]


# ---- prefilters: find the lines worth parsing in a whole block, at C speed --------------------
@functools.lru_cache(maxsize=8)
def _value_pattern(key: bytes, strip: bytes) -> re.Pattern:
    return re.compile(rb'"' + key + rb'"\s*:\s*"(?:' + strip + rb')?([^"\\]*)"')


def lines_with_value(buf: bytes, start: int, end: int, key: bytes, accept,
                     strip: bytes = b"") -> list[tuple[int, bytes]]:
    """(line start, value) of the lines in buf[start:end] (whole lines) that hold the string
    `"key": "value"` (a nested copy too) with the value in `accept` (a set, or a test on the
    value); `strip` is an optional value prefix such as `t3_`. The value is the line's first one
    in `accept`.

    One `findall` lists every value of the block in C and a set intersection keeps the wanted
    ones; most blocks of a big dump stop there. A block with hits is not walked match by match
    in Python (the old cost: a step for each of its thousands of rows); `bytes.find` jumps from
    one wanted value to the next, in file order, and only those lines are matched again (a
    value found in some other text is skipped there)."""
    pattern = _value_pattern(key, strip)
    values = pattern.findall(buf, start, end)
    hits = set(values)
    hits = hits & accept if isinstance(accept, (set, frozenset)) else {v for v in hits if accept(v)}
    if not hits:
        return []
    wanted = [v for v in values if v in hits]       # the matches to locate, in file order
    found, pos, k = [], start, 0
    while k < len(wanted):
        i = buf.find(wanted[k] + b'"', pos, end)
        if i < 0:
            break                  # only a match broken over two lines (not NDJSON) gets here
        line_start = max(buf.rfind(b"\n", pos, i) + 1, start)
        line_end = buf.find(b"\n", i, end)
        pos = end if line_end < 0 else line_end
        in_line = [m.group(1) for m in pattern.finditer(buf, line_start, pos) if m.group(1) in hits]
        if in_line:                # this line holds match k (no wanted match lies before it)
            found.append((line_start, in_line[0]))
            k += len(in_line)
    return found


@functools.lru_cache(maxsize=32)
def score_pattern(digits: int) -> re.Pattern:
    """`"score": N` with N of at least `digits` digits (a string score too)."""
    return re.compile(rb'"score"\s*:\s*"?([1-9]\d{%d,})' % (digits - 1))


def lines_with_score(buf: bytes, start: int, end: int, threshold: int) -> list[int]:
    """Starts of the lines in buf[start:end] (whole lines) holding some score >= threshold (>= 1).
    A nested copy's score may let a line through; the row's own score is checked after parsing,
    so no line that could rank is lost."""
    starts, last = [], -1
    for m in score_pattern(len(str(threshold))).finditer(buf, start, end):
        if int(m.group(1)) >= threshold:
            line_start = buf.rfind(b"\n", start, m.start()) + 1 or start
            if line_start != last:
                starts.append(line_start)
                last = line_start
    return starts


# ---- rows ---------------------------------------------------------------------------------------
def parse_line(line: bytes) -> tuple[dict | None, str | None]:
    """(row, None) or (None, drop reason) for one NDJSON line."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, "bad_utf8"
    if not text.strip():
        return None, "blank_line"
    try:
        row = json.loads(text)
    except ValueError:
        return None, "bad_json"
    if not isinstance(row, dict):
        return None, "not_an_object"
    return row, None


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
