"""The rows of a dump: one NDJSON line parsed, and one normalised view of posts and comments
whatever their era (fields come and go, and change type, between 2005 and today)."""
from __future__ import annotations

import json
from typing import Any

import orjson

DELETED = frozenset({"[deleted]", "[removed]", "[deleted by user]"})


def parse_line(line: bytes) -> tuple[dict | None, str | None]:
    """(row, None) or (None, drop reason) for one NDJSON line. orjson parses a row more than
    twice as fast as `json`; `json` takes what orjson refuses (NaN, lone surrogates: it decides
    the drop reason), and the rows where orjson read an integer field the rules use past 64 bits
    as a float."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    else:
        if isinstance(row, dict) and not any(isinstance(row.get(k), float) and abs(row[k]) >= 2 ** 63
                                             for k in INT_FIELDS):
            return row, None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, "bad_utf8"
    if not text.strip():
        return None, "blank_line"
    try:
        row = json.loads(text)
    except (ValueError, RecursionError):
        return None, "bad_json"
    if not isinstance(row, dict):
        return None, "not_an_object"
    return row, None


INT_FIELDS = ("score", "num_comments", "created_utc")     # the integers the rules read (`as_int`)


def as_int(value: Any) -> int | None:
    """`created_utc` and `score` are ints, strings or floats depending on the era."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def strip_prefix(value: Any) -> str | None:
    """`t3_abc` -> `abc`; ids are stored with and without their type prefix."""
    if not isinstance(value, str) or not value:
        return None
    return value.split("_", 1)[1] if value[:3] in {"t1_", "t3_"} else value


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def removal_of(row: dict, text_field: str) -> str | None:
    """Why a post or comment is gone, across eras: a `[removed]`/`[deleted]` body, a
    `removed_by_category` (2019 on), or arctic_shift's `_meta.removal_type`."""
    body = text_of(row.get(text_field)).strip()
    if body in DELETED:
        return body.strip("[]")
    if row.get("removed_by_category"):
        return f"removed_by_{row['removed_by_category']}"
    meta = row.get("_meta")
    if isinstance(meta, dict) and meta.get("removal_type"):
        return f"removed_{meta['removal_type']}"
    return None


def normalise_post(row: dict) -> dict:
    """The fields the rules need, whatever the era (missing ones get neutral values)."""
    return {
        "id": strip_prefix(row.get("id")) or strip_prefix(row.get("name")),
        "subreddit": text_of(row.get("subreddit")).lower(),
        "title": text_of(row.get("title")),
        "selftext": text_of(row.get("selftext")),
        "author": text_of(row.get("author")) or "[deleted]",
        "score": as_int(row.get("score")) or 0,
        "num_comments": as_int(row.get("num_comments")),
        "created_utc": as_int(row.get("created_utc")),
        "over_18": as_bool(row.get("over_18")),
        "stickied": as_bool(row.get("stickied")),
        "distinguished": text_of(row.get("distinguished")),
        "is_self": as_bool(row.get("is_self", True)),
        "removed": removal_of(row, "selftext") or (
            "deleted" if text_of(row.get("title")).strip() in DELETED else None),
    }


def normalise_comment(row: dict) -> dict:
    parent = text_of(row.get("parent_id"))
    return {
        "id": strip_prefix(row.get("id")) or strip_prefix(row.get("name")),
        "link_id": strip_prefix(row.get("link_id")),
        "top_level": parent.startswith("t3_"),
        "subreddit": text_of(row.get("subreddit")).lower(),
        "body": text_of(row.get("body")),
        "author": text_of(row.get("author")) or "[deleted]",
        "score": as_int(row.get("score")) or 0,
        "created_utc": as_int(row.get("created_utc")),
        "stickied": as_bool(row.get("stickied")),
        "distinguished": text_of(row.get("distinguished")),
        "removed": removal_of(row, "body"),
    }
