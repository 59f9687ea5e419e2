"""The Reddit stage's output records: a WritingPrompts prompt+story pair, an AskReddit question."""
from __future__ import annotations

from lima.sources.reddit.text import count_words


def wp_record(post: dict, story: dict, pinned: bool) -> dict:
    return {
        "id": f"writingprompts/{post['id']}",
        "source": "writingprompts",
        "conversations": [post["prompt"], story["text"]],
        "meta": {"post_id": post["id"], "post_score": post["score"], "comment_id": story["id"],
                 "comment_score": story["score"], "dump": post["dump"], "comment_dump": story["dump"],
                 "created_utc": post["created_utc"], "story_author": story["author"],
                 "story_words": count_words(story["text"]), "pinned": pinned},
    }


def ask_record(post: dict, pinned: bool) -> dict:
    return {
        "id": f"askreddit/{post['id']}",
        "source": "askreddit",
        "conversations": [post["prompt"]],
        "meta": {"post_id": post["id"], "post_score": post["score"], "num_comments": post["num_comments"],
                 "dump": post["dump"], "created_utc": post["created_utc"], "pinned": pinned},
    }
