"""A .zst dump decoded as it is read, across frames, with the 2 GiB window; a stream that stops
inside a frame is an error.

Pushshift compressed with `--long=31`, so a default decoder refuses the files ("Frame requires
too much memory"); we allow a 2**31 window. python-zstandard's `stream_reader`
ends cleanly on a truncated file, so we decode with one `decompressobj` per frame instead: its
`eof` says the frame ended whole and `unused_data` holds the start of the next one (a skippable
frame counts as a frame too). A file that ends while a frame is open is truncated.

Memory is the window plus what one read of `READ_SIZE` compressed bytes decodes to (about 100 KB
at a dump's compression ratio of 10 to 20), whatever the file size. The decoded bytes are copied
once more than `stream_reader.readinto` would need: decoding is about a tenth slower, which
small reads (their output stays in the CPU's cache) keep from growing.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterator

import zstandard

from lima.errors import StageError

MAX_WINDOW = 2 ** 31          # --long=31, the Pushshift setting
READ_SIZE = 1 << 13           # compressed bytes decoded at once: their output (~100 KB) stays in cache


class ZstdFile:
    """`read` (a bytes piece) or `readinto` (a buffer we own) the decoded bytes of one file;
    errors are StageErrors naming the file."""

    def __init__(self, path: Path, read_size: int = READ_SIZE):
        self.path, self.read_size = path, read_size
        try:
            self.raw = open(path, "rb", buffering=1 << 16)   # a system call per 64 KiB
        except OSError as e:
            raise StageError(path, f"cannot open ({e.strerror})") from e
        self.frame = None          # the decompressobj of the frame being read; None between frames
        self.compressed = 0        # bytes read from the file
        self.out, self.pos = b"", 0   # decoded bytes, and how many of them were handed out

    def __enter__(self) -> "ZstdFile":
        return self

    def __exit__(self, *exc) -> None:
        self.raw.close()

    def read(self, size: int) -> bytes:
        """`size` decoded bytes, fewer only at the end of the file; b"" there."""
        pieces = []
        while size and self._ready():
            piece = self.out if self.pos == 0 and size >= len(self.out) else self.out[self.pos:self.pos + size]
            self.pos += len(piece)
            size -= len(piece)
            pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def readinto(self, view) -> int:
        """Decode into `view` until it is full or the file ends (so a caller's work per call
        is spread over a whole view); the bytes written, 0 at the end of the file."""
        filled = 0
        while filled < len(view) and self._ready():
            n = min(len(view) - filled, len(self.out) - self.pos)
            view[filled:filled + n] = memoryview(self.out)[self.pos:self.pos + n]
            self.pos += n
            filled += n
        return filled

    def _ready(self) -> bool:
        """Decoded bytes are waiting (False: the file ended, whole)."""
        while self.pos == len(self.out):
            data = self.raw.read(self.read_size)
            if not data:
                self._check_end()
                return False
            self.compressed += len(data)
            self.out, self.pos = self._decode(data), 0
        return True

    def _decode(self, data: bytes) -> bytes:
        pieces = []
        try:
            while data:
                if self.frame is None:
                    self.frame = _decompressor().decompressobj()
                pieces.append(self.frame.decompress(data))
                data = b""
                if self.frame.eof:                  # the frame ended whole; the rest is the next one
                    data, self.frame = self.frame.unused_data, None
        except zstandard.ZstdError as e:
            raise StageError(self.path, f"not a readable zstd stream ({_zstd_reason(e)})") from e
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _check_end(self) -> None:
        if self.compressed == 0:
            raise StageError(self.path, "empty file (0 bytes), not a zstd stream")
        if self.frame is not None:
            raise StageError(self.path, "truncated: the zstd stream ends inside a frame (incomplete download?)")


def iter_decompressed(path: Path, piece_size: int = 4 << 20, read_size: int = READ_SIZE) -> Iterator[bytes]:
    """Decompressed pieces (at most `piece_size` bytes, cut anywhere, even inside a character) of
    a .zst file, across frames; StageError if it is not zstd, empty, or cut inside a frame."""
    with ZstdFile(path, read_size) as f:
        while piece := f.read(piece_size):
            yield piece


@functools.lru_cache(maxsize=1)
def _decompressor() -> zstandard.ZstdDecompressor:
    """One decoder context for all files and frames: its window memory, once paged in, serves
    the next file too (a fresh context would fault in up to 2 GiB again)."""
    return zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW)


def _zstd_reason(e: Exception) -> str:
    msg = str(e).replace("zstd decompress error: ", "").replace("zstd decompressor error: ", "")
    if "too much memory" in msg:
        msg += f"; the window exceeds 2**{MAX_WINDOW.bit_length() - 1}"
    return msg
