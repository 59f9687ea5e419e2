"""Stage 01 end to end: reading dumps (every quirk and bad input), joining, sampling, outputs.

Run: .venv/bin/python -m pytest -q tests/test_stackexchange.py
"""
import html
import json
import os
import re
from collections import Counter
from pathlib import Path

import libarchive
import pytest

from conftest import ROOT, run_script
from lima.errors import StageError
from lima.sources.stackexchange.archive import SiteSource, find_sites, posts_blocks
from lima.sources.stackexchange.posts import collect_site, filter_bad_chars, iter_rows
from lima.sources.stackexchange.sampling import temperature_sample, to_record
from lima.rng import make_rng

SAMPLE = ROOT / "data" / "sample" / "stackexchange"

LONG_ANSWER = "<p>" + "Salt draws water out of the aubergine by osmosis, which firms the flesh. " * 20 + "</p>"


def row(**attrs) -> str:
    return "  <row " + " ".join(f'{k}="{html.escape(str(v), quote=True)}"' for k, v in attrs.items()) + " />"


def posts_xml(rows, *, bom=False, licence=False, crlf=False, close=True) -> bytes:
    lines = ['<?xml version="1.0" encoding="utf-8"?>']
    if licence:
        lines.append("<!-- This file is licensed under CC BY-SA 4.0. -->")
    lines.append("<posts>")
    lines.extend(rows)
    if close:
        lines.append("</posts>")
    text = ("\r\n" if crlf else "\n").join(lines)
    data = text.encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def qa(qid, title, qscore, ascore, body=LONG_ANSWER, aid=None, **qextra):
    return [row(Id=qid, PostTypeId=1, Score=qscore, Title=title, Body="<p>Question body.</p>",
                Tags="|cooking|salt|", **qextra),
            row(Id=aid or qid + 1000, PostTypeId=2, ParentId=qid, Score=ascore, Body=body)]


def write_7z(path: Path, members: dict):
    with libarchive.file_writer(str(path), "7zip", options="compression=bzip2") as w:
        for name, data in members.items():
            w.add_file_from_memory(name, len(data), data, mtime=(1700000000, 0))


def collect(xml: bytes, block=64):
    blocks = [xml[i:i + block] for i in range(0, len(xml), block)]
    return collect_site(blocks, "Posts.xml", "cooking.stackexchange.com", "other")


# ---- parsing quirks ---------------------------------------------------------------------------

def test_quirks_bom_licence_comment_crlf_and_both_tag_forms_parse():
    rows = qa(1, "Why does salt draw water out of aubergines?", 50, 30)
    rows[0] = rows[0].replace("|cooking|salt|", "&lt;cooking&gt;&lt;salt&gt;")
    res = collect(posts_xml(rows, bom=True, licence=True, crlf=True))
    assert len(res.qualifying) == 1
    assert res.qualifying[0]["tags"] == ["cooking", "salt"]
    res2 = collect(posts_xml(qa(1, "Why does salt draw water out of aubergines?", 50, 30)))
    assert res2.qualifying[0]["tags"] == ["cooking", "salt"]


def test_invalid_character_references_are_removed_even_across_block_boundaries():
    body = "<p>bad&#x1E;ref and &#0; and fine&#xA;newline</p>" + LONG_ANSWER
    xml = posts_xml(qa(1, "Why does salt draw water out of aubergines?", 5, 30, body=body))
    xml = xml.replace(b"&amp;#", b"&#")     # raw references in the attribute, as in the 2024 dumps
    assert b"&#x1E;" in xml and b"&#0;" in xml
    for block in (7, 13, 64, 4096):         # cut the references at every offset
        res = collect(xml, block)
        assert res.read["invalid_char_refs_removed"] == 2, block
        assert "badref and and fine\nnewline" in res.qualifying[0]["answer"]     # &#xA; stays a line break


def test_watermark_rows_malformed_rows_and_other_post_types_are_counted():
    rows = qa(1, "Why does salt draw water out of aubergines?", 5, 30)
    rows += [row(Id=1000000001, PostTypeId=1, Score=1, Title="Watermark question here?", OwnerUserId=-1),
             row(Id=1000000010, PostTypeId=2, ParentId=1000000001, Score=1, OwnerUserId=-1),
             row(Id=7, PostTypeId=2, ParentId=1, Score="n/a", Body="x"),
             row(PostTypeId=1, Score=3, Title="No id at all?"),
             row(Id=8, PostTypeId=5, Score=0, Body="tag wiki"),
             row(Id=9, PostTypeId=4, Score=0, Body="excerpt")]
    res = collect(posts_xml(rows))
    assert res.dropped["watermark_row"] == 2
    assert res.dropped["malformed_row"] == 2
    assert res.read["other_post_types"] == 2
    assert len(res.qualifying) == 1


def test_join_works_when_answers_come_before_their_question():
    q, a = qa(1, "Why does salt draw water out of aubergines?", 5, 30)
    lower = row(Id=3, PostTypeId=2, ParentId=1, Score=12, Body=LONG_ANSWER.replace("Salt", "Sugar"))
    res = collect(posts_xml([a, lower, q]))
    assert [p["answer_id"] for p in res.qualifying] == [1001]
    assert res.read["answers_without_question"] == 0


def test_top_answer_only_ties_go_to_the_accepted_answer():
    q = row(Id=1, PostTypeId=1, Score=5, Title="Why does salt draw water out of aubergines?",
            Body="<p>b</p>", AcceptedAnswerId=3)
    a2 = row(Id=2, PostTypeId=2, ParentId=1, Score=40, Body=LONG_ANSWER)
    a3 = row(Id=3, PostTypeId=2, ParentId=1, Score=40, Body=LONG_ANSWER.replace("Salt", "Brine"))
    a4 = row(Id=4, PostTypeId=2, ParentId=1, Score=2, Body=LONG_ANSWER)
    res = collect(posts_xml([q, a2, a3, a4]))
    assert res.qualifying[0]["answer_id"] == 3
    # the top answer failing a rule drops the question; the second-best is not used instead
    bad_top = row(Id=5, PostTypeId=2, ParentId=1, Score=99, Body="<p>short</p>")
    res = collect(posts_xml([q, a2, a3, bad_top]))
    assert res.qualifying == [] and res.dropped["answer_too_short"] == 1


def test_every_rule_has_a_named_reason():
    first_person = "<p>I have made this for years and my trick is salt.</p>" + LONG_ANSWER
    reference = LONG_ANSWER + "<p>As mentioned in the other answer, rinse it.</p>"
    rows = (qa(1, "Why does salt draw water out of aubergines?", 9, 30)
            + qa(2, "What is wrong with this aubergine?", 9, 30)
            + qa(3, "Why do onions make you cry so much?", 9, 30, ClosedDate="2020-01-01T00:00:00.000")
            + qa(4, "Why do onions caramelise when cooked slowly?", 9, 30, CommunityOwnedDate="2020-01-01T00:00:00.000")
            + qa(5, "How long should pasta water boil before salting?", 9, 9)
            + qa(6, "Why does bread go stale in the fridge?", 9, 30, body="<p>too short</p>")
            + qa(7, "Why does rice need rinsing before cooking?", 9, 30, body="<p>" + "x" * 5000 + "</p>")
            + qa(8, "How do you keep basil fresh for a week?", 9, 30, body=first_person)
            + qa(9, "Why does milk form a skin when heated?", 9, 30, body=reference)
            + [row(Id=10, PostTypeId=1, Score=9, Title="Why do eggs crack when boiled from cold?", Body="b")])
    res = collect(posts_xml(rows))
    assert [p["question_id"] for p in res.qualifying] == [1]
    assert res.dropped == Counter({
        "title_deictic": 1, "question_closed": 1, "question_community_wiki": 1,
        "answer_score_below_10": 1, "answer_too_short": 1, "answer_too_long": 1,
        "answer_first_person": 1, "answer_refers_to_others": 1, "question_without_answer": 1})
    assert len(res.unfiltered) == 6     # top answers of every open, title-only question


def test_topic_titles_the_paper_released_are_kept_and_title_drops_are_counted_per_sub_rule():
    """The release holds an answer to "Securing small home automation setup" (a topic title, not a
    question; not in the real dumps at hand, so rebuilt here): it must qualify."""
    rows = (qa(1, "Securing small home automation setup", 9, 30)
            + qa(2, "Why does it fail?", 9, 30) + qa(3, "Help with my crontab", 9, 30)
            + qa(4, "Segmentation fault in C", 9, 30) + qa(5, "Rice cooker", 9, 30))
    res = collect(posts_xml(rows))
    assert [p["title"] for p in res.qualifying] == ["Securing small home automation setup"]
    assert res.dropped == Counter({"title_subjectless": 1, "title_help_request": 1, "title_error_only": 1,
                                   "title_too_short": 1})


def test_site_cap_keeps_the_best_scoring_questions():
    rows = []
    for i, score in enumerate([5, 50, 7, 40, 1], start=1):
        rows += qa(i, f"Why does salt number {i} draw water out of aubergines?", score, 30)
    res = collect_site([posts_xml(rows)], "Posts.xml", "cooking.stackexchange.com", "other", max_questions=2)
    assert [p["question_id"] for p in res.qualifying] == [2, 4]
    assert res.dropped["question_below_site_cap"] == 3


def test_length_rule_measures_html_by_default_and_text_on_request():
    body = "<p><a href='https://example.com/a/very/long/link/that/adds/characters'>x</a></p>" * 20 + \
           "<p>" + "y" * 900 + "</p>"
    xml = posts_xml(qa(1, "Why does salt draw water out of aubergines?", 5, 30, body=body))
    assert len(collect(xml).qualifying) == 1
    res = collect_site([xml], "Posts.xml", "cooking.stackexchange.com", "other", length_on="text")
    assert res.dropped["answer_too_short"] == 1


def test_truncated_posts_xml_is_fatal_not_a_shorter_result():
    xml = posts_xml(qa(1, "Why does salt draw water out of aubergines?", 5, 30), close=False)
    with pytest.raises(StageError, match="cut before its closing"):
        collect(xml)
    cut_mid_row = posts_xml(qa(1, "Why does salt draw water out of aubergines?", 5, 30))[:-60]
    with pytest.raises(StageError, match="cut before its closing"):
        collect(cut_mid_row)


def test_rows_are_cleared_while_streaming():
    xml = posts_xml([row(Id=i, PostTypeId=5, Body="x" * 100) for i in range(1, 2000)])
    parents = set()
    for elem in iter_rows(filter_bad_chars([xml[i:i + 500] for i in range(0, len(xml), 500)], Counter()), "P"):
        parent = elem.getparent()
        parents.add(len(parent))
    assert max(parents) <= 30      # the tree never holds more than a block's worth of rows


# ---- archives and the dump folder -------------------------------------------------------------

def test_posts_stream_out_of_7z_without_extracting(tmp_path):
    xml = posts_xml(qa(1, "Why does salt draw water out of aubergines?", 5, 30))
    write_7z(tmp_path / "cooking.stackexchange.com.7z", {"Comments.xml": b"<comments/>", "Posts.xml": xml})
    (src,) = find_sites(tmp_path)
    assert src.site == "cooking.stackexchange.com" and src.kind == "7z"
    assert b"".join(posts_blocks(src, "libarchive")) == xml
    assert b"".join(posts_blocks(src, "py7zr")) == xml
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cooking.stackexchange.com.7z"]


def test_stack_overflow_split_archives_and_folders_are_found(tmp_path):
    for table in ("Posts", "Comments", "Users"):
        write_7z(tmp_path / f"stackoverflow.com-{table}.7z", {f"{table}.xml": b"<x/>"})
    (tmp_path / "gardening.stackexchange.com").mkdir()
    (tmp_path / "gardening.stackexchange.com" / "Posts.xml").write_bytes(b"<posts/>")
    (tmp_path / "notes").mkdir()
    sites = find_sites(tmp_path)
    assert [(s.site, s.path.name) for s in sites] == [
        ("gardening.stackexchange.com", "gardening.stackexchange.com"),
        ("stackoverflow.com", "stackoverflow.com-Posts.7z")]


def _stage(tmp_path, dumps, *extra, expect_exit=0):
    out = tmp_path / "out" / "stackexchange.jsonl"
    code = run_script("01_stackexchange.py", "--dumps", dumps, "--out", out, *extra, expect_exit=expect_exit)
    return out, code


@pytest.mark.parametrize("case, message", [
    ("missing", "no such file or directory"),
    ("empty_dir", "no Stack Exchange dumps found"),
    ("truncated_7z", "truncated or corrupt"),
    ("corrupt_7z", "truncated or corrupt"),
    ("empty_7z", "empty archive"),
    ("no_posts_7z", "archive holds no Posts.xml"),
    ("folder_without_posts", "site folder has no Posts.xml"),
    ("posts_cut_mid_row", "cut before its closing"),
    ("not_xml", "not well-formed XML"),
    ("unknown_site", "unknown site"),
])
def test_bad_input_is_one_line_error_exit_2_and_no_output(tmp_path, capsys, case, message):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    good = posts_xml(qa(1, "Why does salt draw water out of aubergines?", 5, 30))
    archive = dumps / "cooking.stackexchange.com.7z"
    if case == "missing":
        dumps = tmp_path / "nope"
    elif case in ("truncated_7z", "corrupt_7z"):
        write_7z(archive, {"Posts.xml": good * 3})
        data = archive.read_bytes()
        if case == "truncated_7z":
            archive.write_bytes(data[: len(data) // 2])
        else:
            mid = len(data) // 2
            archive.write_bytes(data[:40] + bytes(b ^ 0x5A for b in data[40:mid]) + data[mid:])
    elif case == "empty_7z":
        write_7z(archive, {})
    elif case == "no_posts_7z":
        write_7z(archive, {"Comments.xml": b"<comments/>"})
    elif case == "folder_without_posts":
        (dumps / "cooking.stackexchange.com").mkdir()
        (dumps / "cooking.stackexchange.com" / "Comments.xml").write_bytes(b"<comments/>")
    elif case == "posts_cut_mid_row":
        write_7z(archive, {"Posts.xml": good[:-50]})
    elif case == "not_xml":
        write_7z(archive, {"Posts.xml": b"\x00\x01 this is not xml"})
    elif case == "unknown_site":
        write_7z(dumps / "newsite.stackexchange.com.7z", {"Posts.xml": good})
    capsys.readouterr()
    out, _ = _stage(tmp_path, dumps, expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1], err
    assert "Traceback" not in "\n".join(err)
    assert not out.exists() and not (out.parent / "stackexchange.stats.json").exists()


def _one_line_error(capsys, tmp_path, dumps, message, *extra):
    capsys.readouterr()
    out, _ = _stage(tmp_path, dumps, *extra, expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not out.exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_posts_xml_that_cannot_be_read_is_one_line_error(tmp_path, capsys, jobs):
    """A folder where Posts.xml should be a file: unreadable whoever runs the tests (root included)."""
    dumps = tmp_path / "dumps"
    (dumps / "cooking.stackexchange.com" / "Posts.xml").mkdir(parents=True)
    write_7z(dumps / "gardening.stackexchange.com.7z",
             {"Posts.xml": posts_xml(qa(1, "Why does salt draw water out of aubergines?", 5, 30))})
    _one_line_error(capsys, tmp_path, dumps, "cooking.stackexchange.com/Posts.xml: cannot read", "-j", jobs)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 folder; the Posts.xml-folder test covers root")
@pytest.mark.parametrize("which", ["dumps", "site"])
def test_unreadable_dump_folder_is_one_line_error(tmp_path, capsys, which):
    dumps = tmp_path / "dumps"
    site = dumps / "cooking.stackexchange.com"
    site.mkdir(parents=True)
    (site / "Posts.xml").write_bytes(posts_xml(qa(1, "Why does salt draw water out of aubergines?", 5, 30)))
    locked = dumps if which == "dumps" else site
    locked.chmod(0)
    try:
        _one_line_error(capsys, tmp_path, dumps, f"{locked}: cannot read the folder")
    finally:
        locked.chmod(0o755)


def test_unreadable_dump_folder_message(tmp_path, capsys, monkeypatch):
    """What a permission error listing the dump folder becomes, also where the tests run as root."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    real = Path.iterdir

    def iterdir(self):
        if self == dumps:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)
    monkeypatch.setattr(Path, "iterdir", iterdir)
    _one_line_error(capsys, tmp_path, dumps, f"{dumps}: cannot read the folder (Permission denied)")


@pytest.mark.parametrize("where", ["a_file", "a_folder_at_out"])
def test_unwritable_out_is_one_line_error(tmp_path, capsys, where):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    write_7z(dumps / "cooking.stackexchange.com.7z",
             {"Posts.xml": posts_xml(qa(1, "Why does salt draw water out of aubergines?", 5, 30))})
    blocker = tmp_path / "blocker"
    if where == "a_file":
        blocker.write_text("")
        out = blocker / "stackexchange.jsonl"
    else:
        out = blocker / "stackexchange.jsonl"
        out.mkdir(parents=True)
    capsys.readouterr()
    run_script("01_stackexchange.py", "--dumps", dumps, "--out", out, expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {blocker}"), err
    assert ("is a file, not a folder" if where == "a_file" else "is a folder") in err[0], err
    assert not (tmp_path / "blocker" / "pools").exists()        # found before any work was done


def test_malformed_row_is_a_counted_skip_not_an_error(tmp_path):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    rows = qa(1, "Why does salt draw water out of aubergines?", 5, 30) + [row(Id="x1", PostTypeId=2, Score=1)]
    write_7z(dumps / "cooking.stackexchange.com.7z", {"Posts.xml": posts_xml(rows)})
    out, _ = _stage(tmp_path, dumps)
    stats = json.loads((out.parent / "stackexchange.stats.json").read_text())
    assert stats["dropped"]["malformed_row"] == 1 and stats["kept"]["other"] == 1


# ---- sampling ---------------------------------------------------------------------------------

def test_temperature_sampling_flattens_the_mix_and_takes_best_first():
    pools = {"big": [("big", i) for i in range(1000)], "small": [("small", i) for i in range(8)]}
    drawn = temperature_sample(pools, 100, make_rng(0, "t"), tau=3.0)
    small = [x for x in drawn if x[0] == "small"]
    # p(small) = 8^(1/3) / (8^(1/3) + 1000^(1/3)) = 2/12 ≈ 0.17 (proportional would give 0.008)
    assert 8 <= len(small) <= 8 and [i for _, i in small] == list(range(8))
    assert [i for s, i in drawn if s == "big"] == list(range(92))
    drawn1 = temperature_sample({"big": pools["big"], "mid": [("mid", i) for i in range(125)]}, 60, make_rng(1, "t"), 3.0)
    share = sum(1 for s, _ in drawn1 if s == "mid") / 60
    assert 0.2 < share < 0.5          # 5/15 ≈ 0.33 expected, 125/1125 ≈ 0.11 if proportional


def test_quota_beyond_what_dumps_give_keeps_what_there_is():
    pools = {"a": [1, 2], "b": [3]}
    assert sorted(temperature_sample(pools, 10, make_rng(0, "x"))) == [1, 2, 3]


def test_prompt_field_is_random_per_example_but_stable():
    pair = {"site": "cooking.stackexchange.com", "category": "other", "question_id": 12, "answer_id": 13,
            "question_score": 5, "answer_score": 30, "title": "T?", "question_text": "Body text",
            "answer": "A", "tags": [], "answer_html_chars": 1500}
    fields = Counter(to_record({**pair, "question_id": i}, seed=0)["meta"]["prompt_field"] for i in range(200))
    assert 70 < fields["body"] < 130
    rec = to_record(pair, 0)
    assert rec == to_record(pair, 0)
    assert rec["id"] == "stackexchange/cooking/12"
    assert rec["conversations"][0] == (pair["question_text"] if rec["meta"]["prompt_field"] == "body" else "T?")
    no_body = to_record({**pair, "question_text": ""}, 0)
    assert no_body["meta"]["prompt_field"] == "title"


# ---- the real dumps and the sample -------------------------------------------------------------

def test_real_dumps_parse_and_keep_a_few_pairs(tmp_path, realdata):
    out, _ = _stage(tmp_path, realdata / "stackexchange", "--seed", "3")
    stats = json.loads((out.parent / "stackexchange.stats.json").read_text())
    assert stats["read"]["questions"] == 225 + 181 and stats["read"]["answers"] == 327 + 243
    assert stats["read"]["other_post_types"] >= 80
    assert stats["read"]["answer_attributions_removed"] >= 10      # "Sourced from <url>" and the like
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert 5 <= len(rows) <= 40
    for r in rows:
        prompt, answer = r["conversations"]
        assert r["meta"]["answer_score"] >= 10 and "<p>" not in answer and "href" not in answer
        assert not re.search(r"(?i)(?:sourced? from|sources?:?|see|via|more at)\s*\Z", answer), answer[-80:]
        assert r["meta"]["site"] in ("coffee.stackexchange.com", "genai.stackexchange.com")
        assert r["meta"]["category"] == {"coffee.stackexchange.com": "other", "genai.stackexchange.com": "stem"}[r["meta"]["site"]]


def test_sample_dumps_run_end_to_end_same_bytes_for_any_jobs(tmp_path):
    assert any(SAMPLE.glob("*.7z")) and any(SAMPLE.glob("*/Posts.xml"))     # tracked: both forms are read
    a, _ = _stage(tmp_path / "a", SAMPLE, "-j", "1")
    b, _ = _stage(tmp_path / "b", SAMPLE, "-j", "2")
    assert a.read_bytes() == b.read_bytes()
    for pool in ("stackexchange.filtered.jsonl", "stackexchange.unfiltered.jsonl", "stackexchange.heldout.jsonl"):
        assert (a.parent / "pools" / pool).read_bytes() == (b.parent / "pools" / pool).read_bytes()
    stats = json.loads((a.parent / "stackexchange.stats.json").read_text())
    for reason in ("title_deictic", "title_help_request", "title_subjectless",     # each title sub-rule named
                   "question_closed", "question_community_wiki",
                   "question_without_answer", "answer_score_below_10", "answer_too_short",
                   "answer_too_long", "answer_first_person", "answer_refers_to_others",
                   "watermark_row", "malformed_row"):
        assert stats["dropped"].get(reason, 0) >= 1, reason
    assert stats["read"]["invalid_char_refs_removed"] >= 1
    rows = [json.loads(line) for line in a.read_text().splitlines()]
    assert {r["meta"]["category"] for r in rows} == {"stem", "other"}
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r["meta"]) >= {"site", "category", "question_id", "answer_id", "question_score",
                                  "answer_score", "prompt_field"}
        assert r["source"] == "stackexchange" and len(r["conversations"]) == 2


def test_pools_mark_the_filters_and_the_heldout_set_is_drawn_apart_from_training(tmp_path):
    """The ablations draw by meta.site/category and need to know which unfiltered answers pass; the
    perplexity set (Appendix B) is the sampler's draw over the qualifying pairs not in the output."""
    out, _ = _stage(tmp_path, SAMPLE, "--stem-quota", "3", "--other-quota", "3")
    read = lambda name: [json.loads(l) for l in (out.parent / "pools" / name).read_text().splitlines()]
    filtered, unfiltered, heldout = (read(f"stackexchange.{n}.jsonl") for n in ("filtered", "unfiltered", "heldout"))
    train = {json.loads(l)["id"] for l in out.read_text().splitlines()}
    assert all(r["meta"]["site"] and r["meta"]["category"] in ("stem", "other") for r in filtered + unfiltered)
    assert {r["id"] for r in unfiltered if r["meta"]["passes_filters"]} == {r["id"] for r in filtered}
    assert any(not r["meta"]["passes_filters"] for r in unfiltered)
    ids = [r["id"] for r in heldout]
    assert len(ids) == len(set(ids)) == len(filtered) - len(train) and not set(ids) & train   # all the rest here
    assert set(ids) <= {r["id"] for r in filtered}
    stats = json.loads((out.parent / "stackexchange.stats.json").read_text())
    assert stats["pools"]["heldout"] == len(heldout)
    # Bounded by HELDOUT_SIZE: the same sampler, STEM/Other balanced, the rest left out.
    from lima.funnel import Funnel
    from lima.sources.stackexchange.posts import SiteResult
    from lima.sources.stackexchange.stage import write_pools
    results = []
    for site, cat in (("a.stackexchange.com", "stem"), ("b.stackexchange.com", "stem"), ("c.stackexchange.com", "other")):
        res = SiteResult(site, cat)
        res.qualifying = [{"site": site, "category": cat, "question_id": i, "answer_id": 1000 + i, "question_score": 50 - i,
                           "answer_score": 20, "title": "Why?", "question_text": "", "answer": "A.", "tags": [],
                           "answer_html_chars": 1500} for i in range(20)]
        res.unfiltered = list(res.qualifying)
        results.append(res)
    drawn = [to_record(results[0].qualifying[0], 0)]
    sizes = write_pools(results, tmp_path / "p", 0, Funnel("t"), drawn, heldout_size=10)
    held = [json.loads(l) for l in (tmp_path / "p" / "stackexchange.heldout.jsonl").read_text().splitlines()]
    assert sizes["heldout"] == 10 and Counter(r["meta"]["category"] for r in held) == {"stem": 5, "other": 5}
    assert drawn[0]["id"] not in {r["id"] for r in held}
    assert [r["meta"]["question_id"] for r in held if r["meta"]["site"] == "c.stackexchange.com"] == [0, 1, 2, 3, 4]


# ---- comment chains -> dialogues (§6) ------------------------------------------------------------

def test_comment_cleaning_edits_are_applied_and_named():
    from lima.sources.stackexchange.dialogues import clean_comment
    text, edits = clean_comment("@maria see [the docs](https://example.org/x) or https://foo.org/y, use `ls -a`")
    assert text == "see the docs or , use ```ls -a```"
    assert edits == ["mention_removed", "link_text_kept", "url_removed"]


def test_comment_chains_alternate_merge_and_end_on_the_answerer():
    from lima.sources.stackexchange.dialogues import comment_chains
    pair = {"answer_id": 11, "asker": "17", "answerer": "9", "question_id": 10}
    c = lambda i, user, text, t: {"id": i, "post_id": 11, "user_id": user, "text": text, "created": f"2012-01-01T00:00:{t:02d}"}
    comments = [c(5, "9", "Answerer adds a note first.", 1), c(3, "17", "Is it safe overnight?", 2),
                c(4, "17", "In the fridge, I mean.", 3), c(7, "40", "Drive-by remark.", 4),
                c(6, "9", "@kim Yes, within a day.", 5), c(8, "17", "Thanks!", 6),
                {**c(9, "17", "Unrelated answer", 7), "post_id": 99}]
    (chain,) = comment_chains(comments, [pair])
    assert chain["turns"] == ["Is it safe overnight?\n\nIn the fridge, I mean.", "Yes, within a day."]
    assert chain["comment_ids"] == [3, 4, 6]
    assert set(chain["edits"]) == {"other_commenter_left_out", "same_author_comments_joined",
                                   "mention_removed", "trailing_user_comment_dropped"}
    assert comment_chains(comments[:1], [pair]) == []          # no follow-up exchange, no dialogue


def test_sample_dumps_give_alternating_dialogues_in_order(tmp_path):
    out = tmp_path / "se.jsonl"
    run_script("01_stackexchange.py", "--dumps", SAMPLE, "--out", out, "--dialogues-out", tmp_path / "dialogues.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "dialogues.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    pool = {json.loads(l)["meta"]["answer_id"]: json.loads(l) for l in
            (tmp_path / "pools" / "stackexchange.filtered.jsonl").read_text().splitlines()}
    for r in rows:
        conv = r["conversations"]
        assert r["source"] == "multi_turn" and len(conv) >= 4 and len(conv) % 2 == 0
        assert conv[:2] == pool[r["meta"]["answer_id"]]["conversations"]     # the kept pair opens it
        assert all(t.strip() and not t.lstrip().startswith("@") for t in conv)
    stats = json.loads((tmp_path / "se.stats.json").read_text())
    assert stats["dialogues"]["chains"] == 8 and stats["read"]["comments"] > 20
