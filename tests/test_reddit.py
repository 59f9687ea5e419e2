"""Stage 03 (Reddit): dump reading, text cleaning, selection rules, the stage on the sample, bad
input, and the real Pushshift files when ../shared/realdata is present.

Run: .venv/bin/python -m pytest -q tests/test_reddit.py
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zstandard

from conftest import ROOT, run_script
from lima.errors import StageError
from lima.sources.reddit.decode import DumpReader, iter_blocks, scan_blocks
from lima.sources.reddit.files import classify_dump, find_dumps
from lima.sources.reddit.rows import normalise_comment, normalise_post, parse_line
from lima.sources.reddit.zstd_stream import iter_decompressed
from lima.sources.reddit.prefilter import ENGINES, ScoreLines, ValueLines, at_least
from tools.build_sample_reddit import build_sample, comment, compress_long, make_story, submission, write_zst
from lima.sources.reddit.pins import read_pins
from lima.sources.reddit.pools import Pool, Sink, tiebreak
from lima.sources.reddit.rules import ask_post_reason, story_reason, wp_post_reason
from lima.sources.reddit.select import Diversity
from lima.sources.reddit.submissions import scan_submissions
from lima.sources.reddit.text import clean_markup, split_title_tags, strip_all_tags

SAMPLE = ROOT / "data" / "sample" / "reddit"
PINS = ROOT / "data" / "authored" / "reddit_pins.txt"
SAMPLE_ARGS = ["--wp-quota", 8, "--ask-quota", 6, "--pool-factor", 2, "--pin", PINS]  # sample.mk


def run_stage(tmp_path, dumps, *extra, expect_exit=0, tag="out"):
    wp, ask = tmp_path / tag / "writingprompts.jsonl", tmp_path / tag / "askreddit.jsonl"
    code = run_script("03_reddit.py", "--dumps", *dumps, "--wp-out", wp, "--ask-out", ask, *extra,
                      expect_exit=expect_exit)
    return code, wp, ask


def rows_of(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def stats_of(path):
    return json.loads(Path(str(path).replace(".jsonl", ".stats.json")).read_text())


def lines_of(path, block_size=1 << 20):
    out = []
    for buf, end in iter_blocks(Path(path), block_size):
        out.extend(buf[:end].split(b"\n")[:-1])
    return out


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """One run of the stage on the shipped sample with the sample profile's knobs."""
    tmp = tmp_path_factory.mktemp("reddit")
    _, wp, ask = run_stage(tmp, [SAMPLE], *SAMPLE_ARGS)
    return wp, ask


def post(title, **kw):
    row = submission(2020, kw.pop("sub", "WritingPrompts"), kw.pop("pid", "abc1"), title, kw.pop("score", 100),
                     1600000000, kw.pop("author", "someone"), **kw)
    return normalise_post(row)


def story(body, parent="t3_abc1", author="writer", **kw):
    return normalise_comment(comment(2020, "WritingPrompts", kw.pop("cid", "c1"), "abc1", parent, body,
                                     kw.pop("score", 10), 1600000000, author, **kw))


WORDS_120 = " ".join(["word"] * 120)


# ---- text cleaning --------------------------------------------------------------------------------
def test_title_tags_are_removed_from_the_prompt():
    assert split_title_tags("[WP] A dragon writes a letter.") == ("A dragon writes a letter.", ["WP"])
    assert split_title_tags("[WP][EU] Two tags") == ("Two tags", ["WP", "EU"])
    assert split_title_tags("(SP) Round brackets - and a dash") == ("Round brackets - and a dash", ["SP"])
    assert split_title_tags("WP: colon form prompt") == ("colon form prompt", ["WP"])
    assert split_title_tags("A story [Part 2]") == ("A story", ["PART 2"])
    assert split_title_tags("A [redacted] file arrives") == ("A [redacted] file arrives", [])


def test_askreddit_tags_are_stripped_wherever_they_sit():
    assert strip_all_tags("What is your best advice? [Serious]") == ("What is your best advice?", ["SERIOUS"])
    assert strip_all_tags("Who, [Serious Replies Only] would you call?")[0] == "Who, would you call?"


def test_reddit_markup_becomes_plain_text():
    body = ("# A Title\n\n> quoted &amp; escaped &lt;3\n\nSome **bold**, *italic*, ***both***, ~~gone~~ and "
            "[a link](https://x.org/a_(b)?q=1&amp;r=2) and ^(tiny) and `code` and a\\_snake\\_name.\n\n"
            "* item one\n* item two\n\n&#x200B;\n\n---\n\n>!spoiler!< text with snake_case_kept\n\n"
            "EDIT: thanks for the gold!\n\nMore at r/MyWritingSub")
    text = clean_markup(body)
    assert text == ("A Title\n\nquoted & escaped <3\n\nSome bold, italic, both, gone and a link and tiny and "
                    "code and a_snake_name.\n\n- item one\n- item two\n\nspoiler text with snake_case_kept")


def test_story_text_keeps_multibyte_characters():
    assert clean_markup("Élodie said \u201chi\u201d \U0001f319") == "Élodie said \u201chi\u201d \U0001f319"


def test_prompt_similarity_uses_word_bigram_jaccard():
    div = Diversity(max_per_author=1, max_similarity=0.5)
    div.take("You inherit a lighthouse whose keeper left one rule.")
    assert div.too_similar("you INHERIT a lighthouse, whose keeper left one rule!")   # case, punctuation
    assert div.too_similar("You inherit a lighthouse whose old keeper left one rule.")   # 8 of 11 bigrams
    assert not div.too_similar("You inherit a lighthouse whose keeper left no rules at all, only a cat.")
    assert not div.too_similar("A dragon writes a polite letter of complaint.")


# ---- rules ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("title,kw,reason", [
    ("[WP] A fine prompt about a lighthouse", {}, None),
    ("[WP] A fine prompt about a lighthouse", {"over_18": True}, "nsfw"),
    ("[NSFW][WP] A prompt with a tag", {}, "nsfw"),
    ("[WP] A prompt removed by mods", {"selftext": "[removed]"}, "removed"),
    ("[WP] A prompt removed later", {"removed_by_category": "moderator"}, "removed"),
    ("[WP] arctic shift removal", {"_meta": {"removal_type": "deleted"}}, "removed"),
    ("[WP] Contest announcement here", {"stickied": True}, "meta"),
    ("[OT] Off topic chatter thread", {}, "meta"),
    ("[IP] This painting of a ship", {}, "needs_media"),
    ("How do I write better endings?", {}, "not_a_prompt"),
    ("[WP] Dragons.", {}, "too_short"),
])
def test_writingprompts_post_rules(title, kw, reason):
    assert wp_post_reason(post(title, **kw))[0] == reason


@pytest.mark.parametrize("title,kw,reason", [
    ("What is a skill everyone should learn?", {}, None),
    ("What is the best advice you ignored? [Serious]", {}, None),
    ("What is a skill everyone should learn?", {"over_18": True}, "nsfw"),
    ("What is a skill everyone should learn?", {"selftext": "[deleted]"}, "removed"),
    ("What is a skill everyone should learn?", {"distinguished": "moderator"}, "meta"),
    ("What is a skill everyone should learn?", {"selftext": "context here"}, "not_title_only"),
    ("What is a skill everyone should learn?", {"is_self": False}, "not_title_only"),
    ("Tell me about your favourite teacher.", {}, "not_a_question"),
    ("Favourite colour?", {}, "too_short"),
    ("Redditors, what is your favourite subreddit?", {}, "not_self_contained"),
    ("What did OP mean by that?", {}, "not_self_contained"),
])
def test_askreddit_post_rules(title, kw, reason):
    assert ask_post_reason(post(title, sub="AskReddit", **kw))[0] == reason


def test_askreddit_prompt_has_no_tags_left():
    assert ask_post_reason(post("[Serious] What do you regret most?", sub="AskReddit")) == (None, "What do you regret most?")


@pytest.mark.parametrize("body,kw,reason", [
    (WORDS_120, {}, None),
    ("[deleted]", {}, "removed"),
    ("[removed]", {}, "removed"),
    (WORDS_120, {"parent": "t1_c0"}, "not_top_level"),
    (WORDS_120, {"author": "AutoModerator"}, "bot_or_mod"),
    (" ".join(["word"] * 99), {}, "too_short"),
    (" ".join(["**word**"] * 98) + "\n\n* * *\n\nword", {}, "too_short"),   # 102 raw, 99 after cleaning
])
def test_story_rules(body, kw, reason):
    assert story_reason(story(body, **kw))[0] == reason


def test_schema_drift_is_normalised_across_eras():
    times = [normalise_post(submission(era, "WritingPrompts", "t3_abc", "[WP] x y z", "12", 1600000000, "a"))
             for era in (2012, 2016, 2020, 2024)]
    assert [p["created_utc"] for p in times] == [1600000000] * 4      # int, str, int, float
    assert {p["id"] for p in times} == {"abc"} and {p["score"] for p in times} == {12}
    bare = normalise_post({"title": "x", "id": "q1"})                  # the oldest rows lack most fields
    assert bare["score"] == 0 and bare["over_18"] is False and bare["created_utc"] is None
    c = normalise_comment({"id": "t1_c", "link_id": "t3_p", "parent_id": "t3_p", "body": "a &amp; b"})
    assert (c["id"], c["link_id"], c["top_level"]) == ("c", "p", True)


def test_pool_keeps_the_top_scores_and_one_copy_of_each_post():
    pool = Pool(3)
    reasons = [pool.offer({"id": f"p{s}", "score": s, "tb": tiebreak(0, f"p{s}")}) for s in (5, 1, 9, 7, 3)]
    assert reasons == [None, None, None, "not_top_scoring", "not_top_scoring"]
    assert sorted(pool.items) == ["p5", "p7", "p9"] and pool.threshold() == 5
    assert pool.offer({"id": "p5", "score": 8, "tb": 0}) == "duplicate"       # the higher copy wins
    assert pool.items["p5"]["score"] == 8 and pool.threshold() == 7


def test_author_cap_and_similarity_limits():
    div = Diversity(max_per_author=2, max_similarity=0.5)
    div.take("A dragon writes a letter", "Ivy")
    div.take("A robot learns to paint", "ivy")          # authors compare case-insensitively
    assert not div.author_ok("IVY") and div.author_ok("someone") and div.author_ok("[deleted]")
    assert div.too_similar("A dragon writes a letter today")       # 4 shared of 5 bigrams: 0.8
    assert not div.too_similar("A dragon writes a long letter")    # 3 of 6: 0.5 is not above the limit
    assert not div.too_similar("A dragon writes poems at night")   # 2 of 7


def test_pin_file_formats(tmp_path):
    f = tmp_path / "pins.txt"
    f.write_text("# comment\nabc1\nt3_abc2  # inline comment\nwritingprompts/abc3 t1_cc3\n"
                 "https://www.reddit.com/r/AskReddit/comments/abc4/title/\n"
                 "https://old.reddit.com/r/WritingPrompts/comments/abc5/title/cc5/\nabc1\n")
    pins = read_pins(f)
    assert [(p.source, p.post_id, p.comment_id) for p in pins] == [
        (None, "abc1", None), (None, "abc2", None), ("writingprompts", "abc3", "cc3"),
        ("askreddit", "abc4", None), ("writingprompts", "abc5", "cc5")]
    f.write_text("abc1 cc1 extra\n")
    with pytest.raises(StageError, match="line 1"):
        read_pins(f)


# ---- reading the dumps -----------------------------------------------------------------------------
def test_sample_files_need_the_2gib_window():
    files = sorted(SAMPLE.glob("*.zst"))
    assert len(files) == 5
    for f in files:
        with pytest.raises(zstandard.ZstdError, match="too much memory"):
            zstandard.ZstdDecompressor().stream_reader(f.open("rb")).read(100)
        assert lines_of(f)                                   # and we read them
    assert sum(f.stat().st_size for f in files) < 300_000


def test_sample_is_reproducible_and_matches_the_generator(tmp_path):
    build_sample(tmp_path)
    for f in SAMPLE.glob("*.zst"):
        assert lines_of(tmp_path / f.name) == lines_of(f), f.name


def test_reading_continues_across_frames(tmp_path):
    lines = [json.dumps({"n": i}).encode() for i in range(100)]
    f = tmp_path / "RC_2020-01.zst"
    f.write_bytes(compress_long([b"\n".join(lines) + b"\n"], frames=3))
    one = zstandard.ZstdDecompressor(max_window_size=2**31).decompressobj()
    first = one.decompress(f.read_bytes())
    assert one.eof and one.unused_data and 0 < first.count(b"\n") < 100   # one frame stops early
    assert lines_of(f) == lines
    assert len(lines_of(SAMPLE / "WritingPrompts_comments.zst")) == 69   # the sample's two frames


def _frame(data, **params):
    return zstandard.ZstdCompressor(**params).compress(data)


def test_a_stream_cut_anywhere_is_told_from_a_whole_one(tmp_path):
    """Frames of every kind (content size given or not, with and without checksum, an RLE block,
    raw blocks, a skippable frame); cut at every byte, a stream reads fully only where the cut
    falls between two frames, and is a StageError anywhere else."""
    parts = [_frame(b'{"a": 1}\n' * 50, level=3, write_checksum=True),
             b"\x50\x2a\x4d\x18" + (5).to_bytes(4, "little") + b"hello",             # skippable
             _frame(b"x" * 200_000 + b"\n", write_checksum=False, write_content_size=False),
             _frame(os.urandom(6000), level=1, write_content_size=False)]             # raw blocks
    sizes = [450, 0, 200_001, 6000]                                           # decoded bytes of each
    stream = b"".join(parts)
    whole = {sum(map(len, parts[:i])): sum(sizes[:i]) for i in range(1, len(parts) + 1)}
    f = tmp_path / "RC_2020-01.zst"
    assert len(parts[3]) > 6000                                               # (incompressible)
    for cut in list(range(1, 600)) + list(range(600, len(stream), 7)) + list(whole):
        f.write_bytes(stream[:cut])
        if cut in whole:
            assert sum(map(len, iter_decompressed(f, 4096))) == whole[cut]
        else:
            with pytest.raises(StageError, match="truncated|not a readable"):
                list(iter_decompressed(f, 4096))


def test_utf8_characters_split_across_chunks_are_rejoined(tmp_path):
    rows = [{"id": f"x{i}", "body": "Élodie \u201cquoted\u201d \U0001f319 " * (i % 5 + 1)} for i in range(200)]
    f = write_zst(tmp_path / "RC_2020-01.zst", rows)
    whole = lines_of(f)
    pieces = list(iter_decompressed(f, 7))
    assert sum(1 for x in pieces if not _decodes(x)) > 10      # pieces really cut characters
    for block_size in (1, 3, 7, 64):
        got = lines_of(f, block_size)
        assert got == whole
        assert all(parse_line(line)[1] is None for line in got)
    assert [json.loads(x)["body"] for x in whole] == [r["body"] for r in rows]


def _reader_lines(paths, block_size, child):
    """{path: lines} through a DumpReader, checking each block's line count on the way."""
    out = {}
    with DumpReader(paths, block_size, child) as reader:
        for path in paths:
            out[path] = []
            for buf, start, end, n_lines in reader.blocks(path):
                lines = bytes(buf[start:end]).split(b"\n")[:-1]
                assert len(lines) == n_lines
                out[path].extend(lines)
    return out


@pytest.mark.parametrize("child", [True, False])
def test_dump_reader_gives_the_same_lines_in_a_child_process_and_inline(tmp_path, child):
    rows = [{"id": f"x{i}", "body": "Élodie \u201cquoted\u201d \U0001f319 " * (i % 5 + 1)} for i in range(300)]
    f = write_zst(tmp_path / "RC_2020-01.zst", rows, frames=3)
    paths = [f, SAMPLE / "WritingPrompts_comments.zst", f]
    for block_size in (1, 7, 64, 1 << 20):
        got = _reader_lines(paths, block_size, child)
        assert got[f] == lines_of(f) and len(got[f]) == 300
        assert got[paths[1]] == lines_of(paths[1])


@pytest.mark.parametrize("child", [True, False])
def test_a_last_line_without_newline_and_lines_longer_than_a_block_come_whole(tmp_path, child):
    long_line = json.dumps({"body": "x" * 5000}).encode()
    for tail in (b'{"last": 1}', long_line, b""):
        f = tmp_path / "RC_2020-01.zst"
        f.write_bytes(compress_long([b"\n".join([b'{"a": 1}', long_line, b'{"b": 2}', tail])], frames=2))
        want = [b'{"a": 1}', long_line, b'{"b": 2}'] + ([tail] if tail else [])
        for block_size in (1, 5, 16, 4096, 5014, 1 << 20):
            assert _reader_lines([f], block_size, child)[f] == want, (tail[:10], block_size)


def test_an_error_in_the_child_process_names_its_file_after_the_good_ones(tmp_path):
    good = write_zst(tmp_path / "RS_2020-01.zst", [{"id": f"a{i}"} for i in range(5000)])
    bad = tmp_path / "RC_2020-01.zst"
    bad.write_bytes(good.read_bytes()[:-20])
    with DumpReader([good, bad], 4096) as reader:
        assert sum(n for *_, n in reader.blocks(good)) == 5000
        with pytest.raises(StageError, match="truncated") as e:
            list(reader.blocks(bad))
        assert e.value.path == str(bad)
        proc = reader.proc
    assert not proc.is_alive() and reader.proc is None


def test_a_killed_parent_leaves_no_decompressor_behind(tmp_path):
    """The child blocks on a full pipe; once the parent dies, its next write fails and it ends."""
    f = write_zst(tmp_path / "RC_2020-01.zst", [b'{"body": "%d"}' % i for i in range(400_000)])
    script = ("import sys, time; sys.path.insert(0, sys.argv[2]); from pathlib import Path; "
              "from lima.sources.reddit.decode import DumpReader; r = DumpReader([Path(sys.argv[1])], 4096); "
              "next(r.blocks(Path(sys.argv[1]))); print(r.proc.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", script, str(f), str(ROOT / "scripts")], stdout=subprocess.PIPE)
    child = int(parent.stdout.readline())
    assert _running(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def _running(pid):
    """Alive and not a zombie (an orphan is reaped by init, maybe a moment later)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("engine", ENGINES)
def test_value_prefilter_finds_every_wanted_line_and_skips_lookalikes(engine):
    lines = [b'{"link_id":"t3_aaa","body":"x"}',
             b'{"body":"mentions aaa\" in text","link_id":"t3_zzz"}',     # the value, not as a link_id
             b'{"link_id": "bbb", "parent": {"link_id": "t3_aaa"}}',       # two wanted values: first kept
             b'{"link_id":"t3_ccc"}',
             b'{"link_id":"t3_aaa"}']
    buf = b"\n".join(lines) + b"\n"
    starts = [buf.index(line) for line in lines]
    got = ValueLines(b"link_id", {b"aaa", b"bbb"}, b"t3_", engine=engine).find(buf, 0, len(buf))
    assert got == [(starts[0], b"aaa"), (starts[2], b"bbb"), (starts[4], b"aaa")]
    assert ValueLines(b"link_id", {b"aaa"}, b"t3_", engine=engine).find(buf, starts[3], len(buf)) == [(starts[4], b"aaa")]
    assert ValueLines(b"link_id", {b"nope"}, b"t3_", engine=engine).find(buf, 0, len(buf)) == []
    assert ValueLines(b"link_id", [], b"t3_", engine=engine).find(buf, 0, len(buf)) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_value_prefilter_ignores_case_when_asked_and_names_the_wanted_spelling(engine):
    lines = [b'{"subreddit":"WritingPrompts","id":"a"}', b'{"subreddit":"writingpromptsX"}',
             b'{"subreddit" : "ASKREDDIT"}', b'{"subreddit":"pics","title":"WritingPrompts"}',
             b'{"subreddit":"pics","crosspost_parent_list":[{"subreddit":"writingprompts"}]}']
    buf = b"\n".join(lines)                     # the last line has no newline
    starts = [buf.index(line) for line in lines]
    named = ValueLines(b"subreddit", [b"writingprompts", b"askreddit"], caseless=True, engine=engine)
    assert named.find(buf, 0, len(buf)) == [(starts[0], b"writingprompts"), (starts[2], b"askreddit"),
                                            (starts[4], b"writingprompts")]
    exact = ValueLines(b"subreddit", [b"writingprompts"], engine=engine)
    assert exact.find(buf, 0, len(buf)) == [(starts[4], b"writingprompts")]


@pytest.mark.parametrize("engine", ENGINES)
def test_score_prefilter_keeps_every_line_with_a_score_at_the_threshold(engine):
    lines = [b'{"score":99,"id":"a"}', b'{"score":100}', b'{"score": "250"}', b'{"title":"score 900"}',
             b'{"score":5,"crosspost_parent_list":[{"score":12345}]}', b'{"score":1000,"ups":1000}',
             b'{"score":-500}', b'{"score":0100}', b'{"score":777']   # (the last ends on its newline)
    buf = b"\n".join(lines) + b"\n"
    starts = [buf.index(line) for line in lines]
    scores = ScoreLines(engine)
    assert scores.find(buf, 0, len(buf), 100) == [starts[i] for i in (1, 2, 4, 5, 8)]
    assert scores.find(buf, 0, len(buf), 251) == [starts[i] for i in (4, 5, 8)]
    assert scores.find(buf, starts[2], starts[5], 1) == [starts[i] for i in (2, 4)]


def test_at_least_matches_exactly_the_integers_from_its_bound():
    for n in (1, 7, 9, 10, 57, 99, 100, 109, 190, 999, 1000, 12345):
        pattern = re.compile(at_least(n))
        assert [x for x in range(0, 20000) if pattern.fullmatch(str(x))] == list(range(n, 20000))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_full_pool_keeps_exactly_the_top_posts_whatever_the_order_of_parsing(tmp_path, engine):
    """Past the fill, lines are prefiltered by score and parsed best first: the pool must still hold
    the top qualifying posts by (score, tie-break), one row per id, as if every row were parsed.
    Scores in strings, nested crosspost scores, duplicates, broken and non-qualifying rows mixed in."""
    rng = __import__("random").Random(7)
    rows, posts = [], {}
    for i in range(3000):
        pid = f"p{rng.randrange(2600)}"                        # some ids come twice
        score = int(rng.paretovariate(1.2))
        row = {"id": pid, "subreddit": "WritingPrompts", "title": f"[WP] a prompt number {i} here",
               "score": str(score) if i % 7 == 0 else score, "over_18": i % 13 == 0}
        if i % 5 == 0:                                         # a nested score before the row's own
            row = {"crosspost_parent_list": [{"score": max(1, score // 2), "subreddit": "pics"}], **row}
        if i % 11 == 0:
            row["crosspost_parent_list"] = [{"score": score + 500, "subreddit": "pics"}]
        rows.append(row)
        if not row["over_18"]:
            posts[pid] = max(posts.get(pid, (-1, 0)), (score, tiebreak(0, pid)))
        if i % 97 == 0:
            rows.append(b'{"id": "broken", "score": 99999')
    f = write_zst(tmp_path / "WritingPrompts_submissions.zst", rows)
    want = sorted(posts, key=lambda p: posts[p], reverse=True)[:120]
    for block_size in (4096, 65536):
        sink = Sink("wp", "writingprompts", "writingprompts", Pool(120), 0)
        scan_submissions(classify_dump(f), {"writingprompts": sink}, {}, scan_blocks(f, block_size), engine)
        assert [p["id"] for p in sink.pool.ranked()] == want
        assert sink.funnel.read["submission_lines"] == len(rows)


@pytest.mark.skipif(len(ENGINES) < 2, reason="hyperscan is not installed here")
def test_both_prefilter_engines_give_the_same_stage_outputs(tmp_path):
    """The whole stage on the sample, once with each engine: the same bytes out."""
    outs = {}
    for engine in ENGINES:
        _, wp, ask = run_stage(tmp_path, [SAMPLE], *SAMPLE_ARGS, "--prefilter", engine, tag=engine)
        stats = [{k: v for k, v in stats_of(out).items() if k != "args"} for out in (wp, ask)]
        outs[engine] = (wp.read_bytes(), ask.read_bytes(), stats)
    assert outs["hyperscan"] == outs["re"]


def _decodes(piece):
    try:
        piece.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_bad_lines_are_classified():
    assert parse_line(b'{"a": 1')[1] == "bad_json"
    assert parse_line(b'{"a": "caf\xe9"}')[1] == "bad_utf8"
    assert parse_line(b"[1, 2]")[1] == "not_an_object"
    assert parse_line(b"   ")[1] == "blank_line"
    assert parse_line(b'{"a": [' * 5000)[1] == "bad_json"                   # nested past any limit


def test_rows_read_as_the_json_module_reads_them():
    """orjson parses, json takes over where the two would differ."""
    for line in (b'{"score": 123456789012345678901, "created_utc": "1500000000"}',   # past 64 bits
                 b'{"score": -98765432109876543210}', b'{"x": NaN, "y": Infinity}',
                 b'{"body": "\\ud83d lone surrogate"}', b'{"a": 1, "a": 2}', b'{"t": 1.5e308, "u": -0.0}',
                 b'{"body": "\xc3\xa9\\u00e9 \\ud83d\\ude00"}', b' {"pad": true}\r'):
        assert parse_line(line) == (json.loads(line.decode()), None), line
    assert parse_line(b'{"score": 123456789012345678901}')[0]["score"] == 123456789012345678901


@pytest.mark.parametrize("content,message", [
    (None, "truncated"),
    (b"this is not zstd at all\n", "not a readable zstd stream"),
    (b"", "empty file"),
])
def test_unreadable_files_raise_one_clear_error(tmp_path, content, message):
    f = tmp_path / "RS_2020-01.zst"
    good = compress_long([b'{"id": "a"}\n' * 5000])
    f.write_bytes(good[: len(good) // 2] if content is None else content)
    with pytest.raises(StageError, match=message):
        list(iter_decompressed(f))


def test_dump_names_and_folders(tmp_path):
    assert classify_dump(Path("RS_2019-03.zst")).kind == "submissions"
    assert classify_dump(Path("WritingPrompts_comments.zst")).subreddit == "writingprompts"
    assert classify_dump(Path("notes.zst")) is None
    (tmp_path / "sub").mkdir()
    for name in ("RC_2013-06.zst", "sub/AskReddit_submissions.zst", "readme.txt"):
        (tmp_path / name).write_bytes(b"x")
    found = find_dumps([tmp_path])
    assert [d.name for d in found] == ["AskReddit_submissions.zst", "RC_2013-06.zst"]   # submissions first
    with pytest.raises(StageError, match="not a Pushshift dump name"):
        find_dumps([tmp_path / "readme.txt"])


# ---- the stage ------------------------------------------------------------------------------------
def test_stage_on_the_sample_writes_the_data_contract(sample_run):
    wp, ask = sample_run
    pairs, prompts = rows_of(wp), rows_of(ask)
    assert len(pairs) == 8 and len(prompts) == 6
    for r in pairs:
        assert r["id"] == f"writingprompts/{r['meta']['post_id']}" and r["source"] == "writingprompts"
        assert len(r["conversations"]) == 2
        assert {"post_id", "post_score", "comment_id", "comment_score", "dump"} <= set(r["meta"])
        prompt, text = r["conversations"]
        assert "[" not in prompt and not prompt.startswith("WP")
        assert len(text.split()) >= 100
        for mark in ("**", "&amp;", "](", "EDIT", "r/", "&#x200B;"):
            assert mark not in text, (mark, r["id"])
    for r in prompts:
        assert r["id"] == f"askreddit/{r['meta']['post_id']}" and r["source"] == "askreddit"
        assert len(r["conversations"]) == 1 and r["conversations"][0].endswith("?")
        assert "[" not in r["conversations"][0]
        assert {"post_id", "post_score", "dump"} <= set(r["meta"])
    assert len({r["id"] for r in pairs}) == len(pairs)


def test_stage_on_the_sample_hits_every_drop_reason_and_balances(sample_run):
    wp, ask = (stats_of(p) for p in sample_run)
    posts = ["bad_json", "bad_utf8", "not_an_object", "no_id", "other_subreddit", "removed", "nsfw", "meta",
             "needs_media", "not_a_prompt", "too_short", "duplicate", "not_top_scoring", "no_story",
             "author_cap", "similar_prompt", "over_quota"]
    comments = ["bad_json", "bad_utf8", "removed", "not_top_level", "bot_or_mod", "too_short", "duplicate",
                "outranked", "unused"]
    asks = ["bad_json", "bad_utf8", "removed", "nsfw", "meta", "not_title_only", "not_a_question", "too_short",
            "not_self_contained", "duplicate", "not_top_scoring", "similar_prompt", "over_quota"]
    assert all(wp["dropped"].get(f"post:{r}") for r in posts), wp["dropped"]
    assert all(wp["dropped"].get(f"comment:{r}") for r in comments), wp["dropped"]
    assert all(ask["dropped"].get(f"post:{r}") for r in asks), ask["dropped"]
    for stats, kept in ((wp, "pairs"), (ask, "prompts")):   # every row ends in exactly one counter
        post_drops = sum(v for k, v in stats["dropped"].items() if k.startswith("post:"))
        assert post_drops + stats["kept"][kept] == stats["read"]["submission_lines"]
    comment_drops = sum(v for k, v in wp["dropped"].items() if k.startswith("comment:"))
    assert comment_drops + wp["kept"]["pairs"] == wp["read"]["comment_lines"]
    assert wp["inputs"] and wp["seed"] == 0 and wp["args"]["wp_quota"] == 8


def test_pins_come_first_and_the_monthly_files_mix_in(sample_run):
    wp, ask = sample_run
    pairs, prompts = rows_of(wp), rows_of(ask)
    assert pairs[0]["id"] == "writingprompts/1c0a0p" and pairs[0]["meta"]["pinned"]
    assert pairs[0]["meta"]["comment_id"] == "c9z01k"          # the hand-picked runner-up story
    assert prompts[0]["id"] == "askreddit/1c0a1b" and prompts[0]["meta"]["pinned"]
    assert stats_of(wp)["pinned"] == ["writingprompts/1c0a0p"]
    # A post from a monthly RS_ file (subreddit written in lower case) with its story from RC_.
    monthly = [r for r in pairs if r["meta"]["dump"] == "RS_2013-06.zst"]
    assert monthly and monthly[0]["meta"]["comment_dump"] == "RC_2013-06.zst"
    scores = [r["meta"]["post_score"] for r in pairs[1:]]
    assert scores == sorted(scores, reverse=True)
    authors = [r["meta"]["story_author"].lower() for r in pairs]
    assert max(authors.count(a) for a in authors) <= 2


def test_decoding_in_this_process_gives_the_same_outputs(tmp_path, sample_run):
    _, wp, ask = run_stage(tmp_path, [SAMPLE], *SAMPLE_ARGS, "--inline-decompression")
    for inline, child in ((wp, sample_run[0]), (ask, sample_run[1])):
        assert inline.read_bytes() == child.read_bytes()
        a, b = stats_of(inline), stats_of(child)
        assert (a["kept"], a["read"], a["dropped"], a["dumps"]) == (b["kept"], b["read"], b["dropped"], b["dumps"])


def test_stage_is_deterministic_and_the_prefilter_loses_nothing(tmp_path, sample_run):
    """Tiny reads make many small blocks, so the score prefilter runs on most of them; the result
    must equal the one-block run where every line is parsed."""
    _, wp, ask = run_stage(tmp_path, [SAMPLE], *SAMPLE_ARGS, "--block-size", 64)
    assert wp.read_bytes() == sample_run[0].read_bytes()
    assert ask.read_bytes() == sample_run[1].read_bytes()
    for small, one_block in ((wp, sample_run[0]), (ask, sample_run[1])):
        a, b = stats_of(small), stats_of(one_block)
        assert a["kept"] == b["kept"] and a["read"] == b["read"]
    dumps = stats_of(ask)["dumps"]["AskReddit_submissions.zst"]
    assert dumps["parsed"] < dumps["lines"]                      # the prefilter did skip lines


def test_author_cap_and_similarity_flags_change_the_selection(tmp_path):
    rows, stories = [], []
    titles = ["[WP] A dragon writes a polite letter to a knight", "[WP] A dragon writes a polite letter to the knight",
              "[WP] The moon files for divorce", "[WP] Ghosts form a union at the old mill"]
    for i, title in enumerate(titles):
        rows.append(submission(2020, "WritingPrompts", f"p{i}", title, 100 - i, 1600000000, "op"))
        stories.append(comment(2020, "WritingPrompts", f"c{i}", f"p{i}", f"t3_p{i}", make_story(
            __import__("random").Random(i), 9), 50, 1600000000, "ivy"))
    write_zst(tmp_path / "d" / "WritingPrompts_submissions.zst", rows)
    write_zst(tmp_path / "d" / "WritingPrompts_comments.zst", stories)
    write_zst(tmp_path / "d" / "AskReddit_submissions.zst", [submission(2020, "AskReddit", "q1", "Why is the sky blue at noon?", 5, 1, "a")])
    _, wp, _ = run_stage(tmp_path, [tmp_path / "d"], "--wp-quota", 4, tag="default")
    assert [r["meta"]["post_id"] for r in rows_of(wp)] == ["p0", "p2"]   # p1 too similar, p3 over the cap
    drops = stats_of(wp)["dropped"]
    assert {k: v for k, v in drops.items() if k.startswith("post:")} == {"post:similar_prompt": 1, "post:author_cap": 1}
    _, wp, _ = run_stage(tmp_path, [tmp_path / "d"], "--wp-quota", 4, "--max-stories-per-author", 4,
                         "--max-prompt-similarity", 0.9, tag="loose")
    assert [r["meta"]["post_id"] for r in rows_of(wp)] == ["p0", "p1", "p2", "p3"]


def test_rejected_and_missing_pins_are_reported(tmp_path):
    pins = tmp_path / "pins.txt"
    nsfw_post = rows_of_dump(SAMPLE / "WritingPrompts_submissions.zst", lambda r: r.get("over_18"))[0]["id"]
    pins.write_text(f"writingprompts/{nsfw_post}\naskreddit/nosuch1\nnosuch2\n")
    _, wp, ask = run_stage(tmp_path, [SAMPLE], "--wp-quota", 3, "--ask-quota", 3, "--pin", pins)
    assert stats_of(wp)["pins_rejected"] == {f"writingprompts/{nsfw_post}": "nsfw"}
    assert stats_of(ask)["pins_not_found"] == ["askreddit/nosuch1", "*/nosuch2"]
    assert not any(r["meta"]["pinned"] for r in rows_of(wp) + rows_of(ask))


def rows_of_dump(path, keep):
    return [r for r in (parse_line(x)[0] for x in lines_of(path)) if r and keep(r)]


# ---- bad input at the stage level ------------------------------------------------------------------
def _copy_sample(tmp_path):
    d = tmp_path / "dumps"
    d.mkdir()
    for f in SAMPLE.glob("*.zst"):
        (d / f.name).write_bytes(f.read_bytes())
    return d


@pytest.mark.parametrize("damage,message", [
    (lambda b: b[:-9], "truncated"),
    (lambda b: b"PK\x03\x04 a zip, not zstd" + b, "not a readable zstd stream"),
    (lambda b: b"", "empty file"),
])
@pytest.mark.parametrize("mode", [[], ["--inline-decompression"]])
def test_stage_refuses_an_unreadable_dump_and_writes_nothing(tmp_path, capsys, damage, message, mode):
    d = _copy_sample(tmp_path)
    f = d / "WritingPrompts_comments.zst"
    f.write_bytes(damage(f.read_bytes()))
    code, wp, ask = run_stage(tmp_path, [d], *mode, expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: {f}") and message in err and len(err.splitlines()) == 1
    assert not wp.exists() and not ask.exists() and not wp.parent.exists()


def test_stage_errors_on_missing_inputs(tmp_path, capsys):
    run_stage(tmp_path, [tmp_path / "nothing-here"], expect_exit=2)
    assert "no such file or folder" in capsys.readouterr().err
    d = tmp_path / "only-comments"
    d.mkdir()
    (d / "RC_2013-06.zst").write_bytes((SAMPLE / "RC_2013-06.zst").read_bytes())
    run_stage(tmp_path, [d], expect_exit=2)
    assert "no r/writingprompts submissions" in capsys.readouterr().err


# ---- the real Pushshift files (skipped when ../shared/realdata is absent) ---------------------------
def test_real_monthly_dumps_need_the_long_window_and_read_fully(realdata):
    folder = realdata / "reddit_pushshift"
    counts = {}
    for f in sorted(folder.glob("RC_*.zst")):
        with pytest.raises(zstandard.ZstdError, match="too much memory"):
            zstandard.ZstdDecompressor().stream_reader(f.open("rb")).read(100)
        lines = lines_of(f, block_size=4096)
        assert all(parse_line(x)[1] is None for x in lines)
        counts[f.name] = len(lines)
    assert counts == {"RC_2005-12.zst": 1075, "RC_2006-01.zst": 3666}


def test_real_comments_become_stories_for_a_synthetic_prompt_file(realdata, tmp_path):
    """The real 2 GiB-window RC files in pass 2: stories of >= 100 words answering the posts that
    our own RS file names (ids taken from the real comments' link_id)."""
    folder = realdata / "reddit_pushshift"
    link_ids = {}
    for f in sorted(folder.glob("RC_*.zst")):
        for line in lines_of(f):
            row = json.loads(line)
            if row["parent_id"].startswith("t3_") and len(row["body"].split()) >= 100:
                link_ids[row["link_id"][3:]] = link_ids.get(row["link_id"][3:], 0) + 1
    top = sorted(link_ids, key=lambda k: (-link_ids[k], k))[:5]
    assert len(top) == 5
    titles = ["The web remembers everything you ever typed", "A search engine that answers questions nobody asked",
              "Your inbox receives mail from next year", "The first blog on the moon", "A browser that refuses to close"]
    rs = [submission(2012, "reddit.com", pid, f"[WP] {titles[i]}", 100 - i, 1134365188, "op")
          for i, pid in enumerate(top)]
    write_zst(tmp_path / "RS_2005-12.zst", rs)
    write_zst(tmp_path / "RS_2006-01.zst", [submission(2012, "ask.reddit", "q1", "What was the web like then?", 1, 1, "a")])
    _, wp, _ = run_stage(tmp_path, [tmp_path / "RS_2005-12.zst", tmp_path / "RS_2006-01.zst", *sorted(folder.glob("RC_*.zst"))],
                         "--wp-subreddit", "reddit.com", "--ask-subreddit", "ask.reddit", "--wp-quota", 5,
                         "--ask-quota", 1, "--max-stories-per-author", 5)
    pairs = rows_of(wp)
    assert len(pairs) >= 3
    assert {r["meta"]["comment_dump"] for r in pairs} <= {"RC_2005-12.zst", "RC_2006-01.zst"}
    assert all(len(r["conversations"][1].split()) >= 100 for r in pairs)
    assert stats_of(wp)["read"]["comment_lines"] > 20


def test_real_mixed_era_rows_parse_and_normalise(realdata, tmp_path):
    """Pushshift-Importer's rows from 2005 to 2024 (int/str/float times, 18 to 113 fields, `_meta`)
    written into RS_/RC_ files and run through the stage."""
    folder = realdata / "reddit_pushshift" / "pushshift-importer_test_data"
    subs = [json.loads(x) for x in (folder / "test_submissions.json").read_text().splitlines() if x.strip()]
    coms = [json.loads(x) for x in (folder / "test_comments.json").read_text().splitlines() if x.strip()]
    assert (len(subs), len(coms)) == (31, 27)
    assert {type(r["created_utc"]).__name__ for r in subs} == {"int", "str", "float"}
    for r in subs:
        p = normalise_post(r)
        assert isinstance(p["created_utc"], int) and p["id"] and isinstance(p["score"], int)
    assert sum(normalise_post(r)["removed"] is not None for r in subs) >= 1
    for r in coms:
        c = normalise_comment(r)
        assert c["link_id"] and not c["link_id"].startswith("t3_") and isinstance(c["created_utc"], int)
    raw_s = (folder / "test_submissions.json").read_bytes().splitlines()
    raw_c = (folder / "test_comments.json").read_bytes().splitlines()
    write_zst(tmp_path / "d" / "RS_2024-02.zst", raw_s)
    write_zst(tmp_path / "d" / "RC_2024-02.zst", raw_c)
    nba = sum(r["subreddit"] == "nba" for r in subs)
    _, _, ask = run_stage(tmp_path, [tmp_path / "d"], "--wp-subreddit", "reddit.com", "--ask-subreddit", "NBA",
                          "--wp-quota", 1, "--ask-quota", 1)
    stats = stats_of(ask)
    assert stats["read"]["submission_lines"] == nba
    assert stats["dumps"]["RS_2024-02.zst"]["lines"] == 31
