"""Stage 03: Pushshift Reddit dumps -> WritingPrompts prompt+story pairs (train) and AskReddit
title-only questions (test). §2.1; the dump formats: docs/data.md.

Reads per-subreddit files (WritingPrompts_submissions.zst, WritingPrompts_comments.zst,
AskReddit_submissions.zst) and/or monthly RS_YYYY-MM.zst / RC_YYYY-MM.zst files, in any mix, as
paths or folders. Two passes, constant memory: the submissions choose the candidate posts, then
the comments are scanned for the stories of those candidates only.

    python scripts/03_reddit.py --dumps data/sample/reddit --wp-out data/interim/writingprompts.jsonl \
        --ask-out data/interim/askreddit.jsonl --wp-quota 6 --ask-quota 8 --pin data/authored/reddit_pins.txt
    python scripts/03_reddit.py --dumps /data/pushshift/subreddits --wp-out wp.jsonl --ask-out ask.jsonl
"""
import argparse
import logging
import sys
from pathlib import Path

from lima.errors import StageError
from lima.cli import run_main, setup_logging
from lima.funnel import describe_inputs, write_stats
from lima.io import write_jsonl
from lima.sources.reddit.decode import BLOCK_SIZE
from lima.sources.reddit.files import find_dumps
from lima.sources.reddit.prefilter import ENGINES
from lima.sources.reddit.pins import read_pins
from lima.sources.reddit.rules import MIN_STORY_WORDS
from lima.sources.reddit.select import Diversity, select_ask, select_wp
from lima.sources.reddit.stage import dumps_to_read, make_sinks, outcome_notes, read_dumps

log = logging.getLogger("lima.reddit")

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dumps", nargs="+", required=True,
                   help="Pushshift .zst files or folders holding them (searched recursively)")
    p.add_argument("--wp-out", required=True, help="output JSONL of WritingPrompts pairs")
    p.add_argument("--ask-out", required=True, help="output JSONL of AskReddit test prompts")
    # ---- selection
    p.add_argument("--wp-quota", type=int, default=150, help="WritingPrompts pairs to keep (Table 1: 150)")
    p.add_argument("--ask-quota", type=int, default=70, help="AskReddit test prompts to keep (Table 1: 70)")
    p.add_argument("--wp-subreddit", default="WritingPrompts", help="subreddit of the story pairs (§2.1)")
    p.add_argument("--ask-subreddit", default="AskReddit", help="subreddit of the test prompts (§2.1)")
    p.add_argument("--pin", type=Path, default=None,
                   help="allow-list of post ids taken first, in order (a hand selection; see data/authored/)")
    p.add_argument("--max-stories-per-author", type=int, default=2,
                   help="diversity: at most this many stories by one author (ours; the paper chose by hand)")
    p.add_argument("--max-prompt-similarity", type=float, default=0.5,
                   help="diversity: drop a prompt whose word-bigram Jaccard with a kept one exceeds this (ours)")
    p.add_argument("--pool-factor", type=int, default=10,
                   help="candidate posts kept per quota slot in pass 1 (bounds memory; ours)")
    p.add_argument("--seed", type=int, default=0, help="orders posts of equal score")
    # ---- reading
    p.add_argument("--block-size", type=int, default=BLOCK_SIZE,
                   help="decompressed bytes per block; the reader's ring holds 8 (memory besides the 2 GiB window)")
    p.add_argument("--prefilter", choices=ENGINES, default=ENGINES[0],
                   help="engine that finds the lines worth parsing (same lines either way; hyperscan is faster)")
    p.add_argument("--inline-decompression", action="store_true",
                   help="decompress in this process instead of a child process (slower; same output)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_logging(args.verbose)
    wp_name, ask_name = args.wp_subreddit.lower(), args.ask_subreddit.lower()
    problems = [f"--{k.replace('_', '-')} must be >= 0" for k in ("wp_quota", "ask_quota")
                if getattr(args, k) < 0]
    if wp_name == ask_name:
        problems.append("--wp-subreddit and --ask-subreddit must differ")
    if args.pool_factor < 1 or args.max_stories_per_author < 1 or not 0 < args.max_prompt_similarity <= 1:
        problems.append("--pool-factor and --max-stories-per-author must be >= 1, --max-prompt-similarity in (0, 1]")
    if problems:
        raise StageError("arguments", "; ".join(problems))

    # ---- inputs, then the two passes: submissions pick the candidates, comments their stories
    pins = read_pins(args.pin) if args.pin else []
    quotas = {wp_name: args.wp_quota, ask_name: args.ask_quota}
    sinks = make_sinks(wp_name, ask_name, args.wp_quota * args.pool_factor, args.ask_quota * args.pool_factor,
                       args.seed, pins)
    subs, comments = dumps_to_read(find_dumps(args.dumps), quotas, wp_name, " ".join(args.dumps))
    stories, file_stats = read_dumps(subs, comments, sinks, quotas, wp_name, args.block_size,
                                     not args.inline_decompression, args.prefilter)

    # ---- selection
    wp_rows = select_wp(sinks[wp_name], stories, pins, args.wp_quota,
                        Diversity(args.max_stories_per_author, args.max_prompt_similarity))
    ask_rows = select_ask(sinks[ask_name], pins, args.ask_quota,
                          Diversity(args.max_stories_per_author, args.max_prompt_similarity))

    # ---- outputs
    inputs = describe_inputs([d.path for d in subs + comments] + ([args.pin] if args.pin else []))
    rules = {"min_story_words": MIN_STORY_WORDS, "max_stories_per_author": args.max_stories_per_author,
             "max_prompt_similarity": args.max_prompt_similarity, "similarity": "word bigram Jaccard"}
    for out, rows, name in ((args.wp_out, wp_rows, wp_name), (args.ask_out, ask_rows, ask_name)):
        sink = sinks[name]
        sink.funnel.notes.update(outcome_notes(sink, sinks, rows, quotas[name], pins, rules, file_stats))
        if len(rows) < quotas[name]:
            log.warning("%s: %d of %d wanted (the dumps hold no more that pass the rules)",
                        out, len(rows), quotas[name])
        write_stats(out, sink.funnel, seed=args.seed, inputs=inputs, args=args)
        write_jsonl(out, rows)
        if sink.funnel.notes["pins_not_found"]:
            log.warning("%s: pins found in no dump: %s", sink.source, ", ".join(sink.funnel.notes["pins_not_found"]))
    print(f"reddit: {len(wp_rows)} WritingPrompts pairs -> {args.wp_out}, "
          f"{len(ask_rows)} AskReddit prompts -> {args.ask_out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
