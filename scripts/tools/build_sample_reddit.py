"""Writes the Reddit sample dumps shipped in data/sample/reddit/ (our own text, the real NDJSON schema
of four eras), and the zstd writer that tests and the benchmark share.

The files must really need the 2 GiB window, like Pushshift's. `zstd --long=31` on a small file
does not give that (zstd shrinks the window to the input size when it knows the size), so the data
goes through a stream of unknown size with `window_log=31`: the frame header then declares 2 GiB
and a default `ZstdDecompressor()` refuses it.

    .venv/bin/python scripts/tools/build_sample_reddit.py data/sample/reddit      (deterministic)
"""
from __future__ import annotations

import io
import json
import random
import sys
from pathlib import Path

import zstandard

def compress_long(chunks, frames: int = 1, level: int = 3) -> bytes:
    """zstd with a 2**31 window declared, content size unknown; `frames` > 1 splits the data
    into that many concatenated frames (as re-compressed dumps have). Level 3 without long-range
    matching: the window declared is what matters, and a level-19 context takes a second to set up."""
    params = zstandard.ZstdCompressionParameters.from_level(level, window_log=31)
    data = b"".join(chunks)
    cuts = [len(data) * i // frames for i in range(frames + 1)]
    out = io.BytesIO()
    for a, b in zip(cuts, cuts[1:]):
        # A cut inside a line is fine: frames are a byte stream, lines are split after decoding.
        writer = zstandard.ZstdCompressor(compression_params=params).stream_writer(out, closefd=False)
        writer.write(data[a:b])   # streamed: the writer never learns the size
        writer.close()
    return out.getvalue()


def write_zst(path: Path, lines, frames: int = 1) -> Path:
    """NDJSON rows (dicts, or raw bytes/str lines for broken input) -> a long-window .zst file."""
    chunks = []
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line, separators=(",", ":"), ensure_ascii=False)
        if isinstance(line, str):
            line = line.encode("utf-8")
        chunks.append(line + b"\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(compress_long(chunks, frames))
    return path


# ---- the text we wrote -----------------------------------------------------------------------------
OPENINGS = [
    "The lighthouse keeper had not spoken to anyone in eleven years when the knock came.",
    "Mara counted the stairs again — forty-two, always forty-two, except tonight.",
    "Nobody in the village remembered who had planted the glass orchard.",
    "The letter arrived three days after the funeral, in my grandmother's handwriting.",
    "On the morning the sun forgot to rise, the baker opened his shop anyway.",
    "I was the last person on the station when the radio finally crackled back to life.",
    "The dragon was, by every account, extremely polite about the whole thing.",
    "Every clock in the city stopped at 4:17, and only Élodie noticed.",
]
MIDDLES = [
    "She pulled her coat tighter and stepped into the rain, trying not to think about the map.",
    "The corridor smelled of dust and old paper, the way libraries do when nobody loves them.",
    "He laughed, but it was the thin kind of laugh that asks for permission.",
    "Somewhere below, a door closed with the patience of something that had waited a long time.",
    "\u201cYou're late,\u201d said the voice, though no one had told it when to expect us.",
    "The instructions were simple: do not open the box, do not answer the bell, do not look back.",
    "For a while we just sat there, listening to the engine tick as it cooled.",
    "I had rehearsed this conversation a hundred times, and none of them went like this.",
    "The stars were wrong, not by much, but enough for a navigator to feel it in her teeth.",
    "My hands were shaking, so I folded them in my lap and pretended to be calm.",
    "It is hard to describe the colour of a memory, but this one was the grey of wet slate.",
    "The machine hummed a tune from my childhood, one I had never told anyone about.",
    "Outside, the snow kept falling, soft and careless, covering every footprint we had made.",
    "\"Tell me the truth,\" she said, \"and I will tell you where the key is.\"",
    "The old man tapped the table twice, which in that town meant the deal was done.",
    "We walked for hours, past farms that were empty and fences that kept nothing in.",
    "There is a particular silence after a promise is broken, and the room was full of it.",
    "I opened the notebook and found my own handwriting describing a day that had not happened yet.",
    "The cat, who had opinions about everything, sat in the doorway and refused to move.",
    "Light pooled on the floor like spilled milk, and for a moment nothing hurt.",
]
ENDINGS = [
    "When the knock came again, I was ready, and I opened the door.",
    "And that, more or less, is how I became the keeper of the orchard.",
    "She smiled then, for the first time in years, and the clocks began to tick.",
    "I never did find out who sent the letter, but I kept the key, just in case.",
    "By morning the sun was back, a little embarrassed, and the bread was still warm.",
    "The radio went quiet after that, but I knew they had heard me.",
]
DECORATIONS = [
    lambda t: t.replace("the map", "*the map*"),
    lambda t: t.replace("do not look back", "**do not look back**"),
    lambda t: "> " + t,
    lambda t: t + " (I read about it [here](https://example.org/notes?id=1&amp;x=2).)",
    lambda t: t.replace(" and ", " &amp; ", 1),
    lambda t: t.replace("memory", "~~dream~~ memory"),
    lambda t: t + " \U0001f319",
]


def make_story(rng: random.Random, n_middle: int) -> str:
    parts = [rng.choice(OPENINGS)] + rng.sample(MIDDLES, n_middle) + [rng.choice(ENDINGS)]
    for i in range(1, len(parts) - 1):
        if rng.random() < 0.35:
            parts[i] = rng.choice(DECORATIONS)(parts[i])
    paragraphs, i = [], 0
    while i < len(parts):
        k = rng.choice((1, 2, 3))
        paragraphs.append(" ".join(parts[i:i + k]))
        i += k
    text = "\n\n".join(paragraphs)
    if rng.random() < 0.3:
        text = "# Part One\n\n" + text + "\n\n&#x200B;\n\n***\n\nEDIT: thank you for the silver, kind stranger!"
    elif rng.random() < 0.3:
        text += "\n\nMore stories at r/SampleInkwell if you liked this one."
    return text


WP_PROMPTS = [  # (title, score)
    ("[WP] You inherit a lighthouse whose keeper left one rule: never let the light go out on a Tuesday.", 9412),
    ("[WP] Every clock in the city stops at the same minute, and only you can hear them ticking inside the walls.", 8830),
    ("[SP] A dragon writes a polite letter of complaint to the knight who keeps trying to rescue it.", 7745),
    ("[WP][EU] The last radio operator on a derelict space station finally gets a reply.", 7310),
    ("[CW] Write a love poem in which the word 'love' never appears.", 6921),
    ("[WP] Your grandmother's letter arrives three days after her funeral.", 6502),
    ("[TT] The sun forgets to rise, and the town baker opens his shop anyway.", 5990),
    ("[WP] A glass orchard grows overnight at the edge of a village that has forgotten how to dream.", 5533),
    ("[WP] You find a notebook in your own handwriting describing tomorrow.", 5120),
    ("[RF] The cat has opinions, and today it finally shares them.", 4711),
    ("[WP] The map in your pocket redraws itself every time you lie.", 4400),
    ("[WP] Humanity receives a message from the stars: 'Sorry, wrong number.'", 4012),
    ("[WP] A retired superhero runs a bakery and refuses to talk about the old days.", 3650),
    ("[WP] You wake up as the only person who remembers the colour blue.", 3320),
]


def _ids(start: str):
    n = int(start, 36)
    while True:
        yield _b36(n)
        n += 1


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while n:
        n, r = divmod(n, 36)
        s = digits[r] + s
    return s or "0"


# ---- rows in each era's field set -------------------------------------------------------------------
def submission(era: int, sub: str, pid: str, title: str, score: int, t: int, author: str, **extra) -> dict:
    base = {"id": pid, "title": title, "selftext": extra.pop("selftext", ""), "author": author,
            "subreddit": sub, "subreddit_id": "t5_2s3nb" if sub.lower() == "writingprompts" else "t5_2qh1i",
            "score": score, "num_comments": extra.pop("num_comments", 12), "over_18": extra.pop("over_18", False),
            "is_self": extra.pop("is_self", True), "domain": f"self.{sub}",
            "permalink": f"/r/{sub}/comments/{pid}/x/", "url": extra.pop("url", f"https://www.reddit.com/r/{sub}/comments/{pid}/x/")}
    if era == 2012:
        row = {**base, "created_utc": t, "ups": score, "downs": 0, "edited": False, "distinguished": None,
               "retrieved_on": t + 86400 * 40}
    elif era == 2016:
        row = {**base, "created_utc": str(t), "stickied": False, "locked": False, "hide_score": False,
               "gilded": 0, "link_flair_text": None, "distinguished": None, "spoiler": False,
               "retrieved_on": t + 3600}
    elif era == 2020:
        row = {**base, "created_utc": t, "author_fullname": f"t2_{author.lower()[:6]}", "stickied": False,
               "removed_by_category": None, "total_awards_received": 0, "all_awardings": [], "upvote_ratio": 0.97,
               "media": None, "is_video": False, "link_flair_text": "Writing Prompt", "retrieved_on": t + 60,
               "updated_on": t + 86400 * 30, "distinguished": None, "whitelist_status": "all_ads"}
    else:  # 2024: float times, a `_meta` object, fullname fields
        row = {"_meta": {"retrieved_2nd_on": t + 86400}, **base, "created": float(t), "created_utc": float(t),
               "name": f"t3_{pid}", "author_fullname": f"t2_{author.lower()[:6]}", "stickied": False,
               "removed_by_category": None, "upvote_ratio": 0.95, "is_created_from_ads_ui": False,
               "link_flair_richtext": [], "gildings": {}, "distinguished": None}
    row.update(extra)
    return row


def comment(era: int, sub: str, cid: str, pid: str, parent: str, body: str, score: int, t: int, author: str,
            **extra) -> dict:
    base = {"id": cid, "link_id": f"t3_{pid}", "parent_id": parent, "body": body, "author": author,
            "subreddit": sub, "subreddit_id": "t5_2s3nb", "score": score}
    if era == 2012:
        row = {**base, "created_utc": t, "ups": score, "downs": 0, "name": f"t1_{cid}", "edited": False,
               "gilded": 0, "distinguished": None, "controversiality": 0, "retrieved_on": t + 86400 * 40}
    elif era == 2016:
        row = {**base, "created_utc": str(t), "stickied": False, "author_flair_text": None, "gilded": 0,
               "distinguished": None, "edited": False, "retrieved_on": t + 3600}
    elif era == 2020:
        row = {**base, "created_utc": t, "author_fullname": f"t2_{author.lower()[:6]}", "is_submitter": False,
               "stickied": False, "total_awards_received": 0, "collapsed": False, "permalink": f"/r/{sub}/comments/{pid}/x/{cid}/",
               "distinguished": None, "retrieved_on": t + 60}
    else:
        row = {"_meta": {"retrieved_2nd_on": t + 86400}, **base, "created_utc": float(t), "name": f"t1_{cid}",
               "author_fullname": f"t2_{author.lower()[:6]}", "stickied": False, "distinguished": None,
               "gildings": {}, "controversiality": 0}
    row.update(extra)
    return row


def _lines(rows) -> list:
    """dicts become compact JSON, except 2024-era rows, which keep spaces after separators (both
    forms occur in real dumps); raw bytes pass through."""
    out = []
    for r in rows:
        if isinstance(r, dict) and "_meta" in r:
            out.append(json.dumps(r, ensure_ascii=False))
        else:
            out.append(r)
    return out


ERAS = (2012, 2016, 2020, 2024)
ERA_T0 = {2012: 1340000000, 2016: 1460000000, 2020: 1590000000, 2024: 1710000000}


def build_sample(folder: Path) -> dict:
    """Write the five sample dumps into `folder`; returns {file name: rows written}."""
    rng = random.Random(20230518)
    ids, cids = _ids("1c0a00"), _ids("c9z000")
    wp_posts, wp_comments, rs, rc, ask = [], [], [], [], []
    authors = ["quillandember", "nightjar_writes", "tea_and_tangents", "ShortFictionFox", "marrow_and_moss",
               "ember_scribe", "lanternlight", "paper_boats_"]

    def story_comments(era, pid, t, n_good, author_cycle, sub="WritingPrompts", target=None):
        rows = [comment(era, sub, next(cids), pid, f"t3_{pid}",
                        "**Off-topic comments must be a reply to this comment.** I am a bot.", 1, t + 5,
                        "AutoModerator", stickied=True, distinguished="moderator")]
        for k in range(n_good):
            rows.append(comment(era, sub, next(cids), pid, f"t3_{pid}", make_story(rng, rng.randint(8, 12)),
                                900 - 150 * k + rng.randint(0, 40), t + 600 * (k + 1), next(author_cycle)))
        rows.append(comment(era, sub, next(cids), pid, f"t3_{pid}", "Love this prompt, saving it for later!",
                            40, t + 90, "casual_reader"))
        (target if target is not None else wp_comments).extend(rows)
        return rows

    cycle = iter(authors * 10)
    # Qualifying prompts, best first: each with stories (the two newest eras also have a runner-up).
    for n, (title, score) in enumerate(WP_PROMPTS):
        era = ERAS[n % 4]
        pid, t = next(ids), ERA_T0[era] + n * 7919
        wp_posts.append(submission(era, "WritingPrompts", pid, title, score, t, f"prompter{n}"))
        if n == 1:   # no usable story: only a bot, a short reply, a removed, a deleted and a nested reply
            story_comments(era, pid, t, 0, cycle)
            wp_comments.append(comment(era, "WritingPrompts", next(cids), pid, f"t3_{pid}", "[removed]", 300,
                                       t + 70, "[deleted]"))
            wp_comments.append(comment(era, "WritingPrompts", next(cids), pid, f"t3_{pid}", "[deleted]", 250,
                                       t + 80, "[deleted]"))
            wp_comments.append(comment(era, "WritingPrompts", next(cids), pid, f"t1_{wp_comments[-1]['id']}",
                                       make_story(rng, 9), 120, t + 95, "nested_writer"))
        elif n in (2, 4, 6):  # one author writes the only story on three prompts: the third hits the cap
            story_comments(era, pid, t, 0, cycle)
            wp_comments.append(comment(era, "WritingPrompts", next(cids), pid, f"t3_{pid}",
                                       make_story(rng, 10), 700, t + 300, "inkwell_ivy"))
        else:
            story_comments(era, pid, t, 4 if n == 0 else (2 if era >= 2020 else 1), cycle)
    # A repost of prompt 0 with a few words changed (dropped as similar_prompt).
    pid = next(ids)
    wp_posts.append(submission(2020, "WritingPrompts", pid,
                               "[WP] You inherit a lighthouse whose old keeper left one rule: never let the light go out on Tuesdays.",
                               7000, ERA_T0[2020] + 5, "reposter"))
    story_comments(2020, pid, ERA_T0[2020] + 5, 1, cycle)
    # Drop reasons on the post side.
    t = ERA_T0[2020] + 999
    drops = [
        ("[WP] A heist at a museum of forbidden art goes wrong.", {"over_18": True}),
        ("[NSFW][WP] The vampire's dating profile is brutally honest.", {}),
        ("[WP] The moon files for divorce from the earth.", {"selftext": "[removed]"}),
        ("[WP] Ghosts unionise.", {"removed_by_category": "moderator"}),
        ("[deleted by user]", {"selftext": "[deleted]"}),
        ("[OT] Monthly contest: the theme is 'lighthouses'", {"stickied": True, "distinguished": "moderator"}),
        ("[PM] Prompt me anything, I need to practise dialogue", {}),
        ("[IP] This painting of a flooded cathedral", {"is_self": False, "url": "https://i.example.org/cathedral.jpg"}),
        ("Does anyone else struggle with writing endings?", {}),
        ("[WP] Dragons.", {}),
    ]
    for k, (title, extra) in enumerate(drops):
        wp_posts.append(submission(2020 if k % 2 else 2024, "WritingPrompts", next(ids), title, 9000 - k, t + k,
                                   "someone", **extra))
    # Low-scored good prompts: the pool is full before them (not_top_scoring), one of them pinned.
    for k, title in enumerate(["[WP] The librarian shelves books that have not been written yet.",
                               "[WP] Your shadow starts arriving places a few seconds before you.",
                               "[WP] Rain falls upward for exactly one hour every year."]):
        pid = next(ids)
        wp_posts.append(submission(2016, "WritingPrompts", pid, title, 120 - k, ERA_T0[2016] + 77 + k, "quietprompter"))
        rows = story_comments(2016, pid, ERA_T0[2016] + 77 + k, 2, cycle)
        if k == 0:   # pinned with its runner-up story, chosen by hand
            pins = {"wp_post": pid, "wp_comment": rows[2]["id"]}
    wp_posts.extend([
        {"title": "[WP] a row without an id", "subreddit": "WritingPrompts", "score": 9999},
        submission(2012, "WritingPromptsMeta", next(ids), "[WP] filed under the wrong subreddit", 9998, ERA_T0[2012], "x"),
        b'{"id":"zzbad1","title":"[WP] a line cut mid-way","subreddit":"WritingPrompts","score":99',
        b'{"id":"zzbad2","title":"[WP] caf\xe9 latin-1 byte","subreddit":"WritingPrompts","score":98}',
        b'["not", "an", "object"]',
    ])
    # Comment side: bad lines linked to a real candidate, a duplicate, a stray on a non-candidate.
    top = wp_posts[0]["id"]
    wp_comments.extend([
        f'{{"id":"cbad1","link_id":"t3_{top}","parent_id":"t3_{top}","body":"cut off'.encode(),
        f'{{"id":"cbad2","link_id":"t3_{top}","parent_id":"t3_{top}","body":"\xff\xfe","score":5}}'.encode("latin-1"),
        comment(2012, "WritingPrompts", next(cids), "zzzzzz", "t3_zzzzzz", make_story(rng, 9), 50, ERA_T0[2012], "elsewhere"),
    ])

    # ---- monthly files: all of Reddit for one month (June 2013), two of ours in the mix
    t = 1370044800
    mpid = next(ids)
    rs.extend([
        submission(2012, "funny", next(ids), "My dog learned to open the fridge", 3000, t + 1, "dogperson", is_self=False),
        submission(2012, "writingprompts", mpid,   # lower-cased name: matched case-insensitively
                   "[WP] The town's only mail carrier delivers letters to people who have not been born yet.",
                   6100, t + 2, "monthly_prompter"),
        submission(2012, "AskReddit", next(ids), "What small habit made the biggest difference in your life?",
                   15000, t + 3, "curious_cat"),
        submission(2012, "pics", next(ids), "Sunset over the harbour", 2000, t + 4, "photog", is_self=False,
                   crosspost_parent_list=[{"subreddit": "AskReddit", "title": "nested copy", "score": 99999}]),
        # The per-subreddit file's top post, seen again with an older (lower) score: a duplicate.
        {**wp_posts[0], "score": 9000},
    ])
    rows = story_comments(2012, mpid, t + 2, 1, cycle, sub="writingprompts", target=rc)
    rc.extend([
        comment(2012, "funny", next(cids), "abc123", "t3_abc123", "Ha! Mine does that too.", 12, t + 9, "x"),
        comment(2012, "pics", next(cids), "abc124", "t3_abc124", make_story(rng, 9), 8, t + 10, "y"),
        next(c for c in wp_comments if isinstance(c, dict) and c["author"] != "AutoModerator"
             and c["link_id"] == f"t3_{top}"),   # the same story as in the per-subreddit file
    ])

    # ---- AskReddit per-subreddit submissions
    good_questions = [
        ("What is a skill everyone should learn before they turn thirty?", 24000),
        ("[Serious] What is the best piece of advice you ignored and later regretted ignoring?", 21000),
        ("What everyday object would be terrifying if it were twice as big?", 19500),
        ("What is something that sounds fake but is actually true?", 18800),
        ("What's a hobby that is cheaper than people think?", 17700),
        ("If you could master one instrument overnight, which would you choose and why?", 16600),
        ("What do you wish you had known about money at eighteen?", 15500),
        ("What is the most useful thing you learned from a video game?", 14400),
        ("What is a small act of kindness you still think about years later?", 13300),
        ("Which book changed the way you think, and how?", 12200),
        ("What is a food you hated as a child but love now?", 11100),
        ("What's the best way to make friends as an adult in a new city?", 10000),
        ("What job would you do for free if money didn't matter?", 900),
        ("What is a historical event you wish you could have witnessed?", 800),
        ("How do you stay motivated when a project drags on for months?", 700),
    ]
    for k, (title, score) in enumerate(good_questions):
        era = ERAS[k % 4]
        ask.append(submission(era, "AskReddit", next(ids), title, score, ERA_T0[era] + k * 31, f"asker{k}",
                              num_comments=score // 7))
    ask_pin = ask[-1]["id"]
    t = ERA_T0[2020] + 4242
    ask_drops = [
        ("What is a skill everybody should learn before they turn thirty?", {}),      # similar_prompt
        ("What is your most NSFW dating story?", {"over_18": True}),
        ("What made you quit your job on the spot?", {"selftext": "[removed]"}),
        ("AskReddit rules and FAQ: read before posting", {"stickied": True, "distinguished": "moderator"}),
        ("What is the kindest thing a stranger did for you?", {"selftext": "It happened to me last week, here is the story..."}),
        ("What do you think of this picture?", {"is_self": False, "url": "https://i.example.org/p.png"}),
        ("Tell me about your favourite teacher.", {}),
        ("Favourite colour?", {}),
        ("Redditors, what is the best subreddit nobody knows about?", {}),
        ("What did OP mean by that?", {}),
    ]
    for k, (title, extra) in enumerate(ask_drops):
        ask.append(submission(2020, "AskReddit", next(ids), title, 30000 - k, t + k, "asker_x", **extra))
    ask.extend([
        {**ask[0], "score": 23000},   # the same post again, older score: a duplicate
        b'{"id":"askbad1","score":25000,"title":"What is a truncated line?","subreddit":"AskReddit"',
        b'{"id":"askbad2","title":"What is \xc3(",\"subreddit\":\"AskReddit\"}',
    ])

    files = {
        "WritingPrompts_submissions.zst": (wp_posts, 1),
        "WritingPrompts_comments.zst": (wp_comments, 2),   # two frames
        "AskReddit_submissions.zst": (ask, 1),
        "RS_2013-06.zst": (rs, 1),
        "RC_2013-06.zst": (rc, 1),
    }
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, (rows, frames) in files.items():
        write_zst(folder / name, _lines(rows), frames=frames)
        counts[name] = len(rows)
    counts["_pins"] = {**pins, "ask_post": ask_pin}
    return counts


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "data/sample/reddit")
    print(json.dumps(build_sample(out), indent=1))
