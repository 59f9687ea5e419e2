"""Multi-turn dialogues from Stack Exchange comment chains (§6: 20 of the 30 dialogues).

Under a kept answer, the asker's follow-up comments and the answerer's replies continue the exchange:
question (user) -> answer (assistant) -> asker's comment (user) -> answerer's reply (assistant) -> ...
The paper edited its chains into assistant style by hand; our edits are mechanical and recorded in
each row's meta:
- comments by anyone but the asker and the answerer are left out;
- consecutive comments by the same person are joined into one turn;
- a leading `@name` mention is removed, `[text](url)` links keep their text, bare URLs go, and
  inline `code` becomes a triple-backtick span as in the answers;
- a chain ends on the answerer's turn (a last "thanks!" from the asker is dropped); a chain needs at
  least one follow-up exchange.
"""
from __future__ import annotations

import re
from collections import defaultdict

_MENTION = re.compile(r"^\s*@[\w.-]+[,:]?\s*")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:https?://|/)[^)]*\)")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]'}]")
_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


def clean_comment(text: str) -> tuple[str, list[str]]:
    edits = []
    out = text
    if _MENTION.match(out):
        out = _MENTION.sub("", out, count=1)
        edits.append("mention_removed")
    if _MD_LINK.search(out):
        out = _MD_LINK.sub(r"\1", out)
        edits.append("link_text_kept")
    if _URL.search(out):
        out = _URL.sub("", out)
        edits.append("url_removed")
    out = _CODE.sub(r"```\1```", out)
    return " ".join(out.split()), edits


def comment_chains(comments: list[dict], pairs: list[dict]) -> list[dict]:
    """comments: {"id", "post_id", "user_id", "text", "created"}; pairs: the site's kept pairs with
    `answer_id`, `asker`, `answerer`. Returns one chain per answer that has a follow-up exchange."""
    by_answer = defaultdict(list)
    for c in comments:
        by_answer[c["post_id"]].append(c)
    chains = []
    for pair in pairs:
        asker, answerer = pair.get("asker"), pair.get("answerer")
        if asker is None or answerer is None or asker == answerer:
            continue
        turns: list[list] = []          # [role, text, comment ids]
        edits: set[str] = set()
        for c in sorted(by_answer.get(pair["answer_id"], []), key=lambda c: (c["created"], c["id"])):
            role = "user" if c["user_id"] == asker else "assistant" if c["user_id"] == answerer else None
            if role is None:
                edits.add("other_commenter_left_out")
                continue
            if not turns and role == "assistant":
                continue                   # the answerer adding to the answer before any follow-up
            text, e = clean_comment(c["text"])
            if not text:
                continue
            edits.update(e)
            if turns and turns[-1][0] == role:
                turns[-1][1] += "\n\n" + text
                turns[-1][2].append(c["id"])
                edits.add("same_author_comments_joined")
            else:
                turns.append([role, text, [c["id"]]])
        if turns and turns[-1][0] == "user":
            turns.pop()
            edits.add("trailing_user_comment_dropped")
        if len(turns) >= 2:
            chains.append({"pair": pair, "turns": [t[1] for t in turns],
                           "comment_ids": [i for t in turns for i in t[2]], "edits": sorted(edits)})
    return chains
