"""Reading a verdict out of a judge's free-text answer: A/B/tie (of two answers or two whole
conversations), Fail/Pass/Excellent, safe/unsafe, 1-6, and the three prompt flags. Each parser
returns None when the answer cannot be read with confidence; such an answer is counted as unparseable,
never guessed (and never replayed from the cache as if it were a verdict: lima.eval.judge.client asks
again).
"""
from __future__ import annotations

import re

_PAIR_PATTERNS = (
    ("A", re.compile(r"\banswer\s*a\b[^.\n]*?\bis\s+(?:significantly\s+|much\s+)?better")),
    ("B", re.compile(r"\banswer\s*b\b[^.\n]*?\bis\s+(?:significantly\s+|much\s+)?better")),
    ("tie", re.compile(r"\bneither\b[^.\n]*?\bis\s+(?:significantly\s+)?better|\bneither\s+answer\b|\b(?:it'?s\s+a\s+)?tie\b")),
)
_OPTIONS_BLOCK = re.compile(r"◼\s*answer a is significantly better\.?\s*◼\s*answer b is significantly better\.?\s*"
                            r"◼\s*neither is significantly better\.?")


def _verdicts_in(text: str) -> list[tuple[int, str]]:
    found = []
    for label, pat in _PAIR_PATTERNS:
        found.extend((m.start(), label) for m in pat.finditer(text))
    return sorted(found)


def parse_pairwise(text: str) -> str | None:
    """'A', 'B' or 'tie' from the judge's answer, or None when it cannot be read with confidence.

    A bare letter or option counts; otherwise the options named in the answer (the echoed list of
    the three options removed) must agree, or the last line that names one decides."""
    t = text.lower().replace("*", "").replace("`", "").strip()
    t = _OPTIONS_BLOCK.sub(" ", t)
    bare = re.fullmatch(r"[\s◼■\[\]()\"'.:]*(?:answer\s*)?([ab]|neither|tie)[\s\].)\"'.:]*", t)
    if bare:
        return {"a": "A", "b": "B", "neither": "tie", "tie": "tie"}[bare.group(1)]
    labels = {label for _, label in _verdicts_in(t)}
    if len(labels) == 1:
        return labels.pop()
    if not labels:
        return None
    for line in reversed([ln for ln in t.splitlines() if ln.strip()]):
        here = {label for _, label in _verdicts_in(line)}
        if len(here) == 1:
            return here.pop()
        if here:
            return None
    return None


def parse_conversation(text: str) -> str | None:
    """'A', 'B' or 'tie' for the whole-conversation template: its options name "Conversation A/B"
    where the pairwise ones name "Answer A/B", so the answer is read as a pairwise one with that swap."""
    return parse_pairwise(re.sub(r"(?i)\bconversation\s*([ab])\b", r"answer \1", text))


def _last_label(text: str, keys: str, labels: tuple[str, ...]) -> str | None:
    """The last `key: label` line (keys a regex alternation), else a last line that is only a label."""
    t = text.replace("*", "")
    m = re.findall(rf"(?im)^\s*(?:{keys})\s*:\s*({'|'.join(labels)})\b", t)
    if m:
        return m[-1].lower()
    last = [ln.strip(" .:\"'`") for ln in t.splitlines() if ln.strip()]
    return last[-1].lower() if last and last[-1].lower() in labels else None


def parse_absolute(text: str) -> str | None:
    return _last_label(text, "label|rating", ("fail", "pass", "excellent"))


def parse_safety(text: str) -> str | None:
    return _last_label(text, "decision|verdict", ("safe", "unsafe"))


def parse_flags(text: str) -> dict[str, bool] | None:
    """{safety, format_constraint, ood: bool} from the last `name: yes|no` line of each; None unless all
    three are there."""
    t = text.replace("*", "").replace("`", "")
    out = {}
    for name in ("safety", "format_constraint", "ood"):
        m = re.findall(rf"(?im)^\s*(?:\d\.\s*)?{name}\s*:\s*(yes|no)\b", t)
        if not m:
            return None
        out[name] = m[-1].lower() == "yes"
    return out


def parse_likert(text: str) -> int | None:
    """The number on the last line that holds only a number 1-6 (the prompt asks for it twice at the
    end); a number outside 1..6 or none at all is unparseable."""
    for line in reversed([ln.strip(" .*`\"'[]") for ln in text.splitlines() if ln.strip()]):
        m = re.fullmatch(r"(?:score|rating|choice)?\s*:?\s*(\d+)", line.lower())
        if m:
            n = int(m.group(1))
            return n if 1 <= n <= 6 else None
    return None
