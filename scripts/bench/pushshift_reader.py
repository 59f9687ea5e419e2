"""The way the Pushshift community usually reads these dumps, for scripts/bench/reddit.py to time beside
stage 03: python-zstandard's `stream_reader` with a 2 GiB window (the dumps are written with
`--long=31`), read in large chunks, decoded as UTF-8, split into lines and `json.loads`-ed one by one,
in one process (the idea of the PushshiftDumps helper scripts; written here from that description).
It keeps the rows of one subreddit, as a filter would, and prints what it read.

    python scripts/bench/pushshift_reader.py --subreddit WritingPrompts RS_2031-01.zst RC_2031-01.zst
"""
from __future__ import annotations

import argparse
import json
import sys

import zstandard

CHUNK = 2**27          # bytes asked of the decompressor at a time


def lines_of(path: str):
    """Each decompressed line of a .zst dump, as text."""
    with open(path, "rb") as fh:
        reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(fh)
        tail = b""
        while True:
            chunk = reader.read(CHUNK)
            if not chunk:
                break
            *whole, tail = (tail + chunk).split(b"\n")
            for line in whole:
                yield line.decode("utf-8")
        if tail:
            yield tail.decode("utf-8")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--subreddit", default="WritingPrompts")
    args = p.parse_args()
    want = args.subreddit.lower()
    rows = kept = bad = 0
    for path in args.files:
        for line in lines_of(path):
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            rows += 1
            kept += str(obj.get("subreddit", "")).lower() == want
    print(json.dumps({"rows": rows, "kept": kept, "bad": bad}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
