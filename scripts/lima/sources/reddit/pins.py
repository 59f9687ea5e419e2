"""The pin file: a hand selection of Reddit posts (and stories) that takes precedence over the rules'
ranking (the paper picked its Reddit examples by hand and did not publish the picks)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lima.errors import StageError


@dataclass(frozen=True)
class Pin:
    source: str | None        # "writingprompts", "askreddit" or None (whichever holds the id)
    post_id: str
    comment_id: str | None    # a WritingPrompts pin may name the story to take

    @property
    def key(self) -> str:
        return f"{self.source or '*'}/{self.post_id}"


_PIN_URL = re.compile(r"/r/(\w+)/comments/([0-9a-z]+)(?:/[^/\s]*/([0-9a-z]+))?", re.I)


def read_pins(path: Path) -> list[Pin]:
    """One pin a line: `abc123`, `t3_abc123`, `writingprompts/abc123`, `askreddit/abc123` or a
    post URL, optionally followed by a story comment id (`t1_def456`). `#` starts a comment."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise StageError(path, f"cannot read the pin file ({e})") from e
    pins, seen = [], set()
    for n, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        m = _PIN_URL.search(parts[0])
        if m:
            source, post, comment = m.group(1).lower(), m.group(2), m.group(3)
        else:
            source, _, post = parts[0].rpartition("/")
            source, comment = source.lower() or None, None
            post = post[3:] if post.startswith("t3_") else post
        if len(parts) > 1:
            comment = parts[1][3:] if parts[1].startswith("t1_") else parts[1]
        if len(parts) > 2 or not re.fullmatch(r"[0-9a-z]+", post or "") or (comment and not re.fullmatch(r"[0-9a-z]+", comment)):
            raise StageError(path, f"line {n}: expected '<post id or URL> [<comment id>]', got {raw.strip()!r}")
        pin = Pin(source, post, comment)
        if pin.post_id not in seen:
            seen.add(pin.post_id)
            pins.append(pin)
    return pins
