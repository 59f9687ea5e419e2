"""Which Pushshift dumps to read: files named by their era's convention, found in folders.

Two conventions exist: the monthly files of all of Reddit (`RS_YYYY-MM.zst` for submissions,
`RC_YYYY-MM.zst` for comments) and the per-subreddit files (`<Subreddit>_submissions.zst`,
`<Subreddit>_comments.zst`). The name alone says what a file holds, so a folder can mix both.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lima.errors import StageError

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
    """Expand folders (recursively, sorted) and classify each file by its Pushshift name;
    submissions come first, since they choose what the comments are read for."""
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
