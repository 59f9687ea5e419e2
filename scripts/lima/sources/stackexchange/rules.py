"""The paper's Stack Exchange quality and style rules (§2.1), one predicate each.

Each rule that drops a pair has a named reason; `01_stackexchange.py` counts them in the funnel.
"""
from __future__ import annotations

import re

MIN_ANSWER_SCORE = 10          # §2.1: top answer with a strongly positive score (>= 10)
MIN_ANSWER_CHARS = 1200        # §2.1: drop answers shorter than 1,200 characters
MAX_ANSWER_CHARS = 4096        # §2.1: ... or longer than 4,096 characters

# ---- question self-contained in its title ---------------------------------------------------
# The title must be a question a reader can answer without the body. Heuristic, measured on the
# labelled titles in tests/test_se_rules.py: (1) it reads as a question (ends in "?" or opens with
# an interrogative or auxiliary verb), (2) it has at least four words, and (3) nothing in it points
# at the body: deictic words ("this", "these", "here", "below", "the following"), possessive
# references to the asker's artefact ("my code", "my script"), a subject-less "it"/"that", vague
# help requests and error-only titles.
_QUESTION_OPENERS = set("""
    how what why when where which who whom whose is are was were am do does did can could should
    would will shall may might must has have had isn't aren't doesn't don't didn't can't couldn't
    shouldn't wouldn't won't hasn't haven't
""".split())
_DEICTIC = re.compile(
    r"\b(this|these|those|here|hereby|above|below|attached|following|aforementioned|said)\b"
    r"|\bthe same\b|\bsuch (?:a|an)\b"
    r"|\bmy (?:code|script|program|function|query|class|app|application|problem|issue|error|"
    r"question|case|situation|setup|config|configuration|output|file|recipe|plant|dough|"
    r"attempt|project|implementation|solution|proof|answer)\b"
    r"|\bthe (?:error|exception|warning|above|code|script|problem|issue)\b|\bthe output\b(?! of)"
    r"|\b(?:help|problem|issue|trouble|question|confused|stuck)\s+(?:with|about|on)\b"
    r"|^(?:help|problem|issue|error|question|need help|please help)\b"
    r"|(?:\.\.\.|…|:)\s*$",
    re.IGNORECASE)
# "Why does it fail?": a pronoun subject in a short title has nothing to refer to. Longer titles
# mostly use a dummy "it" ("Why is it not recommended to ...?"), which is fine.
_SUBJECTLESS = re.compile(r"^(?:[\w']+\s+){0,2}(?:it|that|they|them)\b", re.IGNORECASE)
_SHORT_TITLE_WORDS = 7


def title_is_self_contained(title: str) -> bool:
    t = " ".join((title or "").split())
    words = re.findall(r"[\w'’-]+", t)
    if len(words) < 4:
        return False
    first = words[0].lower().replace("’", "'")
    if not (t.endswith("?") or first in _QUESTION_OPENERS):
        return False
    if _DEICTIC.search(t):
        return False
    if len(words) < _SHORT_TITLE_WORDS and _SUBJECTLESS.match(t):
        return False
    return True


# ---- first person ---------------------------------------------------------------------------
# docs/paper.md#measured-in-the-release: 55 of the released 400 answers use "I" or "my" somewhere but only 3 start
# with them, so the rule is about voice, not every pronoun. An answer is first-person when its prose
# (code and quotations excluded) opens with a first-person sentence, or when first-person singular
# pronouns reach FIRST_PERSON_RATE per 100 words (and at least two of them).
FIRST_PERSON_RATE = 1.0
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I’m|I've|I’ve|I'd|I’d|I'll|I’ll|(?i:me|my|mine|myself))\b")
_QUOTED = re.compile(r"\"[^\"]{0,300}\"|“[^”]{0,300}”")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def is_first_person(prose: str) -> bool:
    prose = _QUOTED.sub(" ", prose or "")
    words = prose.split()
    if not words:
        return False
    first_sentence = _SENTENCE_END.split(prose.strip(), maxsplit=1)[0]
    if _FIRST_PERSON.search(first_sentence):
        return True
    hits = len(_FIRST_PERSON.findall(prose))
    return hits >= 2 and hits * 100 / len(words) >= FIRST_PERSON_RATE


# ---- references to other answers or to the site ---------------------------------------------
# The paper names "as mentioned" and "stack exchange" and ends its list with "etc."; ours covers
# references to other posts, to the site, to votes and comments, and edit notes.
REFERENCE_PHRASES = (
    r"as (?:mentioned|noted|stated|said|pointed out|suggested|explained|described|others have said)",
    r"mentioned (?:above|below|earlier|before|previously|in the comments)",
    r"(?:the |an |any )?other answers?", r"another answer", r"accepted answer", r"top answer",
    r"(?:answers?|posts?|comments?) (?:above|below)", r"(?:previous|earlier|above|below) (?:answers?|posts?|comments?)",
    r"this answer", r"my (?:other |previous |original )?answer", r"the (?:OP|asker)", r"OP's",
    r"stack ?exchange", r"stack ?overflow", r"super ?user", r"server ?fault", r"ask ?ubuntu",
    r"this (?:site|forum|thread|question)", r"(?:up|down)[- ]?vot(?:e|es|ed|ing)",
    r"in the comments?", r"edit\s*(?:\d+\s*)?:", r"update\s*(?:\d+\s*)?:", r"@\w{2,}", r"duplicate of",
)
# Anchored at word starts so the engine skips the inside of words (6x faster on long answers).
_REFERENCE = re.compile(r"(?<![\w@])(?:" + "|".join(f"(?:{p})" for p in REFERENCE_PHRASES) + r")(?!\w)",
                        re.IGNORECASE)


def refers_to_others(prose: str) -> bool:
    return bool(_REFERENCE.search(prose or ""))


def answer_drop_reason(score: int, length: int, prose: str) -> str | None:
    """The first rule the top answer fails, or None when the pair qualifies."""
    if score < MIN_ANSWER_SCORE:
        return "answer_score_below_10"
    if length < MIN_ANSWER_CHARS:
        return "answer_too_short"
    if length > MAX_ANSWER_CHARS:
        return "answer_too_long"
    if is_first_person(prose):
        return "answer_first_person"
    if refers_to_others(prose):
        return "answer_refers_to_others"
    return None
