"""Pass 1 over the submissions files: parse only the lines that can matter and offer them to the
subreddits' sinks. In a monthly file those are the lines naming a wanted subreddit; in a
per-subreddit file, once its pool is full, those whose scores could still enter it (or a pinned id),
found by byte scans before any JSON is parsed."""
from __future__ import annotations

import math
from typing import Iterable

from lima.sources.reddit.files import Dump
from lima.sources.reddit.pools import Sink
from lima.sources.reddit.prefilter import ScoreLines, ValueLines, score_pattern
from lima.sources.reddit.rows import parse_line

Block = tuple[bytes, int, int, int]   # (buffer, start, end, lines): see lima.sources.reddit.decode.scan_blocks
FILL_STEP = 256              # lines parsed between two looks at a filling pool's threshold


def scan_submissions(dump: Dump, sinks: dict[str, Sink], file_stats: dict, blocks: Iterable[Block],
                     engine: str | None = None) -> None:
    """Feed one submissions file to the sinks of the subreddits it holds, parsing only the lines
    that can matter: in a monthly file those naming a wanted subreddit, in a per-subreddit file
    (once the pool is full) those with a score that could enter it, or a pinned id."""
    stats = file_stats.setdefault(dump.name, {"kind": dump.kind, "lines": 0, "parsed": 0})
    if dump.subreddit is None:
        wanted = {name.encode(): sink for name, sink in sinks.items()}
        named = ValueLines(b"subreddit", wanted, caseless=True, engine=engine)
        for buf, first, end, n_lines in blocks:
            stats["lines"] += n_lines
            stats["parsed"] += _feed_monthly(buf, first, end, named, wanted, dump)
        return
    sink = sinks[dump.subreddit]
    scores = ScoreLines(engine)
    pinned = ValueLines(b"id", (p.encode() for p in sink.pins), b"t3_", engine=engine)
    for buf, first, end, n_lines in blocks:
        stats["lines"] += n_lines
        parsed, pos = 0, first
        while pos < end:
            # While the pool has room every line is parsed: take a few hundred lines at a time,
            # so the score prefilter starts as soon as the pool is full, not a block later.
            stop = end if sink.pool.threshold() is not None else _after_lines(buf, pos, end, FILL_STEP)
            for start, best in _lines_that_may_rank(buf, pos, stop, sink, scores, pinned):
                thr = sink.pool.threshold()
                if thr is not None and best < thr:
                    continue       # the better lines parsed before it have raised the bar
                row, err = parse_line(buf[start:buf.find(b"\n", start, stop)])
                if err:
                    sink.drop(err)
                else:
                    sink.offer(row, dump)
                parsed += 1
            pos = stop
        stats["parsed"] += parsed
        sink.funnel.read["submission_lines"] += n_lines
        if n_lines > parsed:               # their scores showed they cannot rank
            sink.drop("not_top_scoring", n_lines - parsed)


def _after_lines(buf: bytes, pos: int, end: int, n: int) -> int:
    """The offset after the next `n` lines of buf[pos:end] (whole lines), or `end`."""
    for _ in range(n):
        pos = buf.find(b"\n", pos, end) + 1
        if pos <= 0:
            return end
    return pos


def _lines_that_may_rank(buf: bytes, first: int, end: int, sink: Sink, scores: ScoreLines,
                         pinned: ValueLines) -> list[tuple[int, float]]:
    """The lines that may enter the pool, each with the highest score it holds: all of them, in
    file order, while the pool has room; once it is full, those holding some `"score"` >= its
    lowest, best first (file order among equals), after the pinned ids. A row's own score is at
    most its line's best (a nested copy may hold a higher one), so no line that could rank is
    lost; and parsing the best lines first raises the pool's bar sooner, so fewer need parsing."""
    thr = sink.pool.threshold()
    if thr is None or thr < 1:
        ranked, i = [], first
        while i < end:
            stop = buf.find(b"\n", i, end)
            if stop > i:
                ranked.append((i, math.inf))
            i = stop + 1
        return ranked
    pins = {start for start, _ in pinned.find(buf, first, end)}
    ranked = [(start, math.inf if start in pins else _best_score(buf, start, end))
              for start in sorted(set(scores.find(buf, first, end, thr)) | pins)]
    ranked.sort(key=lambda line: -line[1])
    return ranked


def _best_score(buf: bytes, start: int, end: int) -> int:
    stop = buf.find(b"\n", start, end)
    return max(map(int, score_pattern(1).findall(buf, start, end if stop < 0 else stop)), default=0)


def _feed_monthly(buf: bytes, first: int, end: int, named: ValueLines, wanted: dict[bytes, Sink], dump: Dump) -> int:
    """Route the rows of wanted subreddits in a block of a monthly file; returns lines parsed. A
    row of another subreddit that merely nests a wanted one (a crosspost) is parsed, then ignored."""
    parsed = 0
    for start, value in named.find(buf, first, end):
        sink = wanted[value]
        stop = buf.find(b"\n", start, end)
        line = buf[start:stop]
        parsed += 1
        row, err = parse_line(line)
        if err:
            sink.funnel.read["submission_lines"] += 1
            sink.drop(err)
            continue
        sub = row.get("subreddit")
        own = wanted.get(sub.lower().encode()) if isinstance(sub, str) else None
        if own is not None:
            own.funnel.read["submission_lines"] += 1
            own.offer(row, dump)
    return parsed
