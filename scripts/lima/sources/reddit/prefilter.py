"""Prefilters of the Reddit stage: the lines of a block worth parsing, found without parsing JSON.

A dump is mostly rows we do not want: other subreddits (monthly files), comments on posts that
are not candidates, posts that score too low to enter the pool. A prefilter finds the lines that
name a wanted value (`"subreddit": "WritingPrompts"`, `"link_id": "t3_abc"`) or hold a high
enough `"score"`, in a whole block at once; only those are parsed. It may let through a line that
is not wanted (the value sits in a nested copy, such as a crosspost), never the reverse, because
the rules look at the parsed row again.

Two engines give the same lines (the tests run both). Hyperscan (the `hyperscan` package, Intel's
multi-pattern regex engine) looks for all the wanted values at once, as literals, at memory speed
and calls back only for hits, whose lines `re` then checks for the key; it is in requirements.txt
where its wheels exist (x86-64). Elsewhere Python's `re` lists every value of the block and keeps
the wanted ones, which makes the stage about a third slower.
"""
from __future__ import annotations

import functools
import re
from typing import Iterable

try:
    import hyperscan
except ImportError:            # no wheel for this platform: the `re` engine does the same job
    hyperscan = None

ENGINES = ("hyperscan", "re") if hyperscan is not None else ("re",)


class ValueLines:
    """Lines holding `"key": "value"` (a nested copy counts too) with a value in `values`,
    after an optional prefix such as `t3_`; `caseless` compares values ignoring case (give them
    lower-cased then). `find` returns (line start, value) for each such line, the value being
    the line's first wanted one, spelt as in `values`."""

    def __init__(self, key: bytes, values: Iterable[bytes], strip: bytes = b"", caseless: bool = False,
                 engine: str | None = None):
        self.key, self.strip, self.caseless = key, strip, caseless
        self.values = set(values)
        self.engine = engine or ENGINES[0]
        self.pattern = _value_pattern(key, strip)
        if self.engine == "hyperscan" and self.values:
            # Literals compile in milliseconds where thousands of regexes take seconds.
            self.db = _literal_database(tuple(sorted(v + b'"' for v in self.values)), caseless)

    def find(self, buf, start: int, end: int) -> list[tuple[int, bytes]]:
        if not self.values:
            return []
        if self.engine == "hyperscan":
            found = []
            for line, stop in _scan(self.db, buf, start, end):
                value = self._first_wanted(buf, line, stop)
                if value is not None:  # else the value sat in some other text
                    found.append((line, value))
            return found
        return self._find_re(buf, start, end)

    def _canon(self, value: bytes) -> bytes:
        return value.lower() if self.caseless else value

    def _first_wanted(self, buf, line: int, stop: int) -> bytes | None:
        for m in self.pattern.finditer(buf, line, stop):
            value = self._canon(m.group(1))
            if value in self.values:
                return value
        return None

    def _find_re(self, buf, start: int, end: int) -> list[tuple[int, bytes]]:
        """One `findall` lists every value of the block in C and a set intersection keeps the
        wanted ones; most blocks of a big dump stop there. In a block with hits, `find` jumps
        from one wanted value to the next, in file order, and only those lines are matched
        again (a value found in some other text is skipped there)."""
        found_values = self.pattern.findall(buf, start, end)
        hits = {v for v in set(found_values) if self._canon(v) in self.values}
        if not hits:
            return []
        todo = [v for v in found_values if v in hits]      # the matches to locate, in file order
        found, pos, k = [], start, 0
        while k < len(todo):
            i = buf.find(todo[k] + b'"', pos, end)
            if i < 0:
                break                  # only a match broken over two lines (not NDJSON) gets here
            line_start = max(buf.rfind(b"\n", pos, i) + 1, start)
            line_end = buf.find(b"\n", i, end)
            pos = end if line_end < 0 else line_end
            in_line = [m.group(1) for m in self.pattern.finditer(buf, line_start, pos) if m.group(1) in hits]
            if in_line:                # this line holds match k (no wanted match lies before it)
                found.append((line_start, self._canon(in_line[0])))
                k += len(in_line)
        return found


class ScoreLines:
    """Lines holding some `"score": N` (a string score too) with N >= a threshold (>= 1). A
    nested copy's score may let a line through; the row's own score is checked after parsing."""

    def __init__(self, engine: str | None = None):
        self.engine = engine or ENGINES[0]

    def find(self, buf, start: int, end: int, threshold: int) -> list[int]:
        pattern = score_pattern(len(str(threshold)))
        if self.engine == "hyperscan":
            # A pool's threshold rises by small steps, and each compile takes a millisecond:
            # the database is for its leading digit (57 -> 50) and `re` checks the lines between.
            floor = int(str(threshold)[0]) * 10 ** (len(str(threshold)) - 1)
            lines = _scan(_score_database(floor), buf, start, end)
            if floor == threshold:
                return [line for line, _ in lines]
            return [line for line, stop in lines
                    if any(int(m.group(1)) >= threshold for m in pattern.finditer(buf, line, stop))]
        starts, last = [], -1
        for m in pattern.finditer(buf, start, end):
            if int(m.group(1)) >= threshold:
                line_start = buf.rfind(b"\n", start, m.start()) + 1 or start
                if line_start != last:
                    starts.append(line_start)
                    last = line_start
        return starts


@functools.lru_cache(maxsize=8)
def _value_pattern(key: bytes, strip: bytes) -> re.Pattern:
    return re.compile(rb'"' + re.escape(key) + rb'"\s*:\s*"(?:' + re.escape(strip) + rb')?([^"\\]*)"')


@functools.lru_cache(maxsize=32)
def score_pattern(digits: int) -> re.Pattern:
    """`"score": N` with N of at least `digits` digits (a string score too)."""
    return re.compile(rb'"score"\s*:\s*"?([1-9]\d{%d,})' % (digits - 1))


# ---- hyperscan -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _literal_database(literals: tuple[bytes, ...], caseless: bool):
    flag = hyperscan.HS_FLAG_CASELESS if caseless else 0
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=list(literals), ids=list(range(len(literals))), elements=len(literals),
               flags=[flag] * len(literals), literal=True)      # (one id for all compiles 30x slower)
    return db


@functools.lru_cache(maxsize=32)
def _score_database(threshold: int):
    """`"score": N` with N >= threshold, matched up to the character after N, so that each
    number is reported once."""
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[rb'"score"\s*:\s*"?%s[^0-9]' % at_least(threshold).encode()])
    return db


def at_least(n: int) -> str:
    """A regex for the decimal integers >= n >= 1 (without leading zeros): more digits than n,
    or as many digits and bigger at the first place they differ, or n itself."""
    s = str(n)
    alternatives = [r"[1-9]\d{%d,}" % len(s)]
    for i, digit in enumerate(s):
        if digit != "9":
            rest = len(s) - i - 1
            alternatives.append(s[:i] + "[%d-9]" % (int(digit) + 1) + (r"\d{%d}" % rest if rest else ""))
    return "(?:%s)" % "|".join(alternatives + [s])


def _scan(db, buf, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each line of buf[start:end] with a match, in order. Hyperscan reports
    matches by their end offset, in order, so later reports on a line taken are skipped."""
    ends: list[int] = []
    with memoryview(buf) as view, view[start:end] as block:
        db.scan(block, match_event_handler=lambda _id, _from, to, _flags, _ctx: ends.append(to))
    lines, stop = [], start
    for to in ends:
        to += start
        if to <= stop:
            continue                   # another match on the line just taken
        line = buf.rfind(b"\n", start, to - 1) + 1 or start       # (a match may end on its newline)
        stop = buf.find(b"\n", to - 1, end)
        stop = end if stop < 0 else stop
        lines.append((line, stop))
    return lines
