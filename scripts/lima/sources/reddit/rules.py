"""The Reddit stage's rules (§2.1): which r/WritingPrompts posts are prompts, which comments are
stories, which r/AskReddit posts are self-contained title-only questions.

Each rule returns a drop reason (counted in the funnel as `post:<reason>` / `comment:<reason>`)
or None, with the text it extracted.
"""
from __future__ import annotations

import re

from lima.sources.reddit.text import (MEDIA_TAGS, META_TAGS, NSFW_TAGS, PROMPT_TAGS, clean_markup, count_words,
                                      split_title_tags, strip_all_tags, unescape)

MIN_STORY_WORDS = 100        # r/WritingPrompts' own rule for a response (docs/data.md#subreddit-rules)
BOTS = frozenset({"automoderator", "writingpromptsrobot"})
MOD_DISTINCTIONS = frozenset({"moderator", "admin"})
# A test prompt must stand alone for an assistant: no talk about Reddit itself or this thread.
_NOT_SELF_CONTAINED = re.compile(
    r"\b(?:reddit|redditors?|subreddits?|this sub|upvotes?|downvotes?|karma|this post|this thread|askreddit)\b"
    r"|(?:^|\s)/?[ru]/\w", re.I)
_NOT_SELF_CONTAINED_CASED = re.compile(r"\b(?:OP|AMA)\b")


def wp_post_reason(post: dict) -> tuple[str | None, str]:
    """(drop reason or None, prompt) for a r/WritingPrompts submission."""
    if post["removed"]:
        return "removed", ""
    prompt, tags = split_title_tags(unescape(post["title"]))
    tagset = set(tags)
    if post["over_18"] or tagset & NSFW_TAGS:
        return "nsfw", prompt
    if post["stickied"] or post["distinguished"] in MOD_DISTINCTIONS or tagset & META_TAGS:
        return "meta", prompt
    if tagset & MEDIA_TAGS:
        return "needs_media", prompt
    if not tagset & PROMPT_TAGS:
        return "not_a_prompt", prompt
    if count_words(prompt) < 3:
        return "too_short", prompt
    return None, prompt


def ask_post_reason(post: dict) -> tuple[str | None, str]:
    """(drop reason or None, prompt) for a r/AskReddit submission: a self-contained title-only question."""
    if post["removed"]:
        return "removed", ""
    prompt, tags = strip_all_tags(unescape(post["title"]))
    tagset = set(tags)
    if post["over_18"] or tagset & NSFW_TAGS:
        return "nsfw", prompt
    if post["stickied"] or post["distinguished"] in MOD_DISTINCTIONS or tagset & META_TAGS:
        return "meta", prompt
    if not post["is_self"] or post["selftext"].strip():
        return "not_title_only", prompt
    if not prompt.endswith("?"):
        return "not_a_question", prompt
    if count_words(prompt) < 4:
        return "too_short", prompt
    if _NOT_SELF_CONTAINED.search(prompt) or _NOT_SELF_CONTAINED_CASED.search(prompt):
        return "not_self_contained", prompt
    return None, prompt


def story_reason(comment: dict, min_words: int = MIN_STORY_WORDS) -> tuple[str | None, str]:
    """(drop reason or None, plain-text story) for a comment on a candidate prompt."""
    if comment["removed"]:
        return "removed", ""
    if not comment["top_level"]:
        return "not_top_level", ""
    if comment["author"].lower() in BOTS or comment["stickied"] or comment["distinguished"] in MOD_DISTINCTIONS:
        return "bot_or_mod", ""
    text = clean_markup(comment["body"])
    if count_words(text) < min_words:
        return "too_short", text
    return None, text
