"""Stage 03 with the simpler reader its forked decoder replaced: each dump read through a plain
`zstd -dc --long=31 FILE |` pipe, the rest of the stage unchanged. scripts/bench/reddit.py times it
beside the stage, so the shared-memory ring (lima.sources.reddit.decode.DumpReader) keeps earning
its extra code in every `make bench`, not once by hand; the outputs must be byte-identical.

    python scripts/bench/pipe_stage.py --dumps DIR --wp-out wp.jsonl --ask-out ask.jsonl ...
      (the arguments of scripts/03_reddit.py)
"""
from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from lima.errors import StageError  # noqa: E402
from lima.sources.reddit import decode, stage  # noqa: E402


class PipeReader:
    """DumpReader's interface (blocks of whole lines, file by file) over one `zstd -dc` per file."""

    def __init__(self, paths, block_size=decode.BLOCK_SIZE, child=True):
        self.block_size, self.proc = block_size, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def blocks(self, path: Path):
        self.close()
        self.proc = subprocess.Popen(["zstd", "-dcq", "--long=31", str(path)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        # buffered: read(n) returns n bytes (or the end), as the ring's blocks are full
        carry = b""
        while piece := self.proc.stdout.read(self.block_size):
            buf = carry + piece if carry else piece
            last = buf.rfind(b"\n") + 1
            if last:
                yield buf, 0, last, buf.count(b"\n", 0, last)
            carry = buf[last:]
            if len(carry) > decode.MAX_LINE:
                raise StageError(path, "a line longer than the reader's limit: not NDJSON")
        if carry:
            yield carry + b"\n", 0, len(carry) + 1, 1
        err = self.proc.stderr.read().decode("utf-8", "replace").strip()
        if self.proc.wait():
            raise StageError(path, f"zstd: {err or 'failed'}")
        self.proc = None


stage.DumpReader = PipeReader
sys.argv[0] = str(ROOT / "scripts" / "03_reddit.py")
runpy.run_path(sys.argv[0], run_name="__main__")
