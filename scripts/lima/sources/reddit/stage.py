"""The Reddit stage's steps (scripts/03_reddit.py): which dumps to read, the two passes over
them, and what each output's stats record besides the funnel.

Two passes, constant memory: the submissions choose the candidate posts (bounded pools), then
the comments are scanned for the stories of those candidates only.
"""
from __future__ import annotations

import logging

from lima.errors import StageError
from lima.progress import progress
from lima.sources.reddit.decode import DumpReader
from lima.sources.reddit.files import Dump
from lima.sources.reddit.comments import Stories, scan_comments
from lima.sources.reddit.pins import Pin
from lima.sources.reddit.pools import Pool, Sink
from lima.sources.reddit.rules import MIN_STORY_WORDS
from lima.sources.reddit.submissions import scan_submissions

log = logging.getLogger("lima.reddit")


def make_sinks(wp_name: str, ask_name: str, wp_size: int, ask_size: int, seed: int,
               pins: list[Pin]) -> dict[str, Sink]:
    """One sink per subreddit (lower-cased name), with the pins that may name its posts."""
    return {
        wp_name: Sink("wp", "writingprompts", wp_name, Pool(wp_size), seed,
                      pins={p.post_id: p for p in pins if p.source in (None, "writingprompts", wp_name)}),
        ask_name: Sink("ask", "askreddit", ask_name, Pool(ask_size), seed,
                       pins={p.post_id: p for p in pins if p.source in (None, "askreddit", ask_name)}),
    }


def dumps_to_read(dumps: list[Dump], quotas: dict[str, int], wp_name: str, given: str) -> tuple[list[Dump], list[Dump]]:
    """(submission files, comment files) worth reading: those of the wanted subreddits, or
    monthly ones; only WritingPrompts needs comments. `quotas` maps each subreddit to its quota;
    one with a quota and no submission file is an error naming `given` (the --dumps paths)."""
    subs = [d for d in dumps if d.kind == "submissions" and d.subreddit in (None, *quotas)]
    comments = [d for d in dumps if d.kind == "comments" and d.subreddit in (None, wp_name)]
    for d in dumps:
        if d not in subs and d not in comments:
            log.info("skipping %s: not needed (%s of r/%s)", d.name, d.kind, d.subreddit)
    for name, quota in quotas.items():
        if quota and not any(d.subreddit in (None, name) for d in subs):
            raise StageError(given, f"no r/{name} submissions: give {name}_submissions.zst or RS_YYYY-MM.zst files")
    return subs, comments


def read_dumps(subs: list[Dump], comments: list[Dump], sinks: dict[str, Sink], quotas: dict[str, int],
               wp_name: str, block_size: int, child: bool, engine: str) -> tuple[Stories, dict]:
    """Pass 1 (submissions fill the sinks), then pass 2 (comments answering a WritingPrompts
    candidate become its stories). Returns the stories and per-file line counts."""
    file_stats: dict = {}
    total = sum(d.path.stat().st_size for d in subs + comments)
    # The reader forks its decoder first, before the progress bar may start a thread.
    with DumpReader([d.path for d in subs + comments], block_size, child) as reader, \
            progress(total=total, unit="B", unit_scale=True, desc="reddit") as bar:
        for d in subs:
            log.info("pass 1: %s", d.name)
            scan_submissions(d, sinks, file_stats, reader.blocks(d.path), engine)
            bar.update(d.path.stat().st_size)
        for name, quota in quotas.items():
            if quota and not sinks[name].funnel.read["submission_lines"]:
                raise StageError(" ".join(d.name for d in subs), f"no r/{name} rows in these submission files")
        stories = Stories(sinks[wp_name], MIN_STORY_WORDS)
        for d in comments if stories.ids else []:
            log.info("pass 2: %s (%d candidate posts)", d.name, len(stories.ids))
            scan_comments(d, stories, file_stats, reader.blocks(d.path), engine)
            bar.update(d.path.stat().st_size)
    return stories, file_stats


def outcome_notes(sink: Sink, sinks: dict[str, Sink], rows: list[dict], quota: int, pins: list[Pin],
                  rules: dict, file_stats: dict) -> dict:
    """What an output's stats add to its funnel: the quota and how short of it, the pins taken,
    rejected, or found in no dump (a pin without a source counts as found if any sink has it)."""
    found = set(sink.pinned) | {k.split("/", 1)[1].split()[0] for k in sink.pins_rejected}
    anywhere = {i for s in sinks.values() for i in s.pinned}
    return {
        "quota": quota,
        "short_by": max(0, quota - len(rows)),
        "pinned": [r["id"] for r in rows if r["meta"]["pinned"]],
        "pins_rejected": sink.pins_rejected,
        "pins_not_found": [p.key for p in pins if p.post_id in sink.pins and p.post_id not in found
                           and (p.source is not None or p.post_id not in anywhere)],
        "rules": {**rules, "pool_size": sink.pool.size},
        "dumps": file_stats,
    }
