"""The embedded Stack Exchange sample dumps: real format, every quirk, every drop case, reproducible.

The sample in data/sample/stackexchange/ is written by scripts/tools/build_sample_stackexchange.py from
the posts in data/sample/stackexchange_posts.yaml, each post with the outcome stage 01 must give it.
These tests read the tracked files (so a stale or hand-edited sample fails), re-run the writer into a
temp folder to check it reproduces them byte for byte, and run stage 01's own rules over the dumps
to check its funnel against the recorded outcomes (the rules exist once, in the package).

Run: .venv/bin/python -m pytest -q tests/test_se_sample.py
"""
import importlib.util
import re
from collections import Counter, defaultdict
from pathlib import Path

import libarchive
import pytest
from lxml import etree

from lima.sources.stackexchange import rules as se_rules
from lima.sources.stackexchange.archive import find_sites, posts_blocks
from lima.sources.stackexchange.html import clean_html
from lima.sources.stackexchange.posts import collect_site
from lima.sources.stackexchange.sites import classify

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "stackexchange"
POSTS = ROOT / "data" / "sample" / "stackexchange_posts.yaml"
WRITER = ROOT / "scripts" / "tools" / "build_sample_stackexchange.py"
ARCHIVES = ("chemistry.stackexchange.com", "unix.stackexchange.com", "cooking.stackexchange.com",
            "travel.stackexchange.com")
FOLDERS = ("gardening.stackexchange.com",)
SITES = ARCHIVES + FOLDERS


def _writer():
    """The writer script as a module (it lives outside the importable `scripts/` packages)."""
    spec = importlib.util.spec_from_file_location("build_sample_stackexchange", WRITER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _members(site: str, base: Path = SAMPLE) -> dict[str, bytes]:
    folder = base / site
    if folder.is_dir():
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    out = {}
    with libarchive.file_reader(str(base / f"{site}.7z")) as archive:
        for entry in archive:
            out[entry.pathname] = b"".join(entry.get_blocks())
    return out


@pytest.fixture(scope="module")
def files() -> dict[str, dict[str, bytes]]:
    return {site: _members(site) for site in SITES}


def _rows(data: bytes) -> list[dict]:
    # XML 1.0 forbids these references; the stage removes them with a byte filter, so do we.
    root = etree.fromstring(re.sub(rb"&#x(?:0|1E);", b"", data))
    return [dict(r.attrib) for r in root]


# ---- layout and quirks --------------------------------------------------------------------------

def test_each_site_dump_holds_posts_and_comments(files):
    for site in SITES:
        assert {"Posts.xml", "Comments.xml"} <= set(files[site]), site
    assert set(files["travel.stackexchange.com"]) == {"Comments.xml", "Posts.xml", "license.txt"}


def test_archives_are_7z_with_bzip2_members_and_fixed_mtimes():
    import py7zr      # in requirements.txt: the fallback reader where libarchive is missing
    for site in ARCHIVES:
        path = SAMPLE / f"{site}.7z"
        assert path.read_bytes()[:6] == b"7z\xbc\xaf\x27\x1c", site
        with py7zr.SevenZipFile(path) as z:
            assert z.archiveinfo().method_names == ["BZip2"], site
        with libarchive.file_reader(str(path)) as archive:
            assert {e.mtime for e in archive} == {1700000000}, site


def test_real_dump_quirks_are_in_the_bytes(files):
    posts = {site: files[site]["Posts.xml"] for site in SITES}
    bom = b"\xef\xbb\xbf<?xml"
    assert posts["cooking.stackexchange.com"].startswith(bom)
    assert not any(posts[s].startswith(bom) for s in SITES if s != "cooking.stackexchange.com")
    for site in ("unix.stackexchange.com", "travel.stackexchange.com"):
        for name in ("Posts.xml", "Comments.xml"):
            data = files[site][name]
            head = data[:data.index(b"<posts>" if name == "Posts.xml" else b"<comments>")]
            assert b"<!--" in head and b"-->" in head, (site, name)        # licence comment
            assert data.count(b"\n") == data.count(b"\r\n"), (site, name)  # CRLF throughout
    for site in ("chemistry.stackexchange.com", "cooking.stackexchange.com", "gardening.stackexchange.com"):
        assert b"\r\n" not in posts[site] and b"<!--" not in posts[site], site
    assert b"&#x1E;" in posts["unix.stackexchange.com"] and b"&#x0;" in posts["unix.stackexchange.com"]
    assert not posts["cooking.stackexchange.com"].endswith(b"\n")
    assert posts["chemistry.stackexchange.com"].endswith(b"</posts>\n")
    for site in SITES:
        tags = re.findall(rb' Tags="([^"]*)"', posts[site])
        assert tags, site
        pipe = site in ("unix.stackexchange.com", "travel.stackexchange.com")
        assert all(t.startswith(b"|" if pipe else b"&lt;") for t in tags), site
        assert b'Body="&lt;p&gt;' in posts[site] and b"&#xA;" in posts[site], site


def test_watermarks_odd_rows_and_row_order(files):
    rows = {site: _rows(files[site]["Posts.xml"]) for site in SITES}
    marks = {r["Id"]: r for r in rows["travel.stackexchange.com"] if int(r.get("Id", 0)) >= 10**9}
    assert set(marks) == {"1000000001", "1000000010"}
    assert all(r["OwnerUserId"] == "-1" and r["CreationDate"].startswith("2025-06-01") for r in marks.values())
    types = {site: {r["PostTypeId"] for r in rows[site]} for site in SITES}
    assert all({"1", "2", "4", "5"} <= t for t in types.values())
    assert "6" in types["travel.stackexchange.com"] and "7" in types["gardening.stackexchange.com"]
    assert any("Id" not in r for r in rows["cooking.stackexchange.com"])
    assert any(r.get("Score") == "n/a" for r in rows["chemistry.stackexchange.com"])
    assert any("OwnerDisplayName" in r and "OwnerUserId" not in r for r in rows["cooking.stackexchange.com"])
    garden = [r["Id"] for r in rows["gardening.stackexchange.com"]]
    answer = next(r for r in rows["gardening.stackexchange.com"] if r["Id"] == "44")
    assert answer["ParentId"] == "46" and garden.index("44") < garden.index("46")


# ---- determinism --------------------------------------------------------------------------------

def test_writer_reproduces_the_tracked_files_byte_for_byte(tmp_path):
    writer = _writer()
    a = writer.build(tmp_path / "a")
    b = writer.build(tmp_path / "b")
    assert len(a) == len(b) == 6
    for pa, pb in zip(a, b):
        rel = pa.relative_to(tmp_path / "a")
        assert pa.read_bytes() == pb.read_bytes(), rel
        assert pa.read_bytes() == (SAMPLE / rel).read_bytes(), f"{rel} differs: rerun the writer"


# ---- stage 01 on the sample: the outcomes recorded in the posts file ------------------------------

@pytest.fixture(scope="module")
def posts() -> dict[str, list[dict]]:
    """site -> its post records (dump attributes plus the `outcome` stage 01 must give)."""
    return {domain: site["posts"] for domain, site in _writer().load_sites(POSTS).items()}


@pytest.fixture(scope="module")
def stage01():
    """site -> stage 01's reading of the tracked dump (its funnel counts and qualifying pairs)."""
    return {src.site: collect_site(posts_blocks(src), str(src.path), src.site, classify(src.site)[0])
            for src in find_sites(SAMPLE)}


def test_stage_01_gives_every_post_its_recorded_outcome(posts, stage01):
    assert set(stage01) == set(posts) == set(SITES)
    for site, records in posts.items():
        assert all(r.get("outcome") for r in records if r.get("PostTypeId") == 1), site
        kept = sorted(r["Id"] for r in records if r.get("outcome") == "kept")
        drops = Counter(r["outcome"] for r in records if r.get("outcome") not in (None, "kept"))
        assert sorted(p["question_id"] for p in stage01[site].qualifying) == kept, site
        assert stage01[site].dropped == drops, site


def test_every_site_has_at_least_five_qualifying_questions(stage01):
    for site, res in stage01.items():
        assert len(res.qualifying) >= 5, (site, [p["question_id"] for p in res.qualifying])


def test_every_drop_case_occurs_somewhere(posts):
    seen = {r["outcome"] for records in posts.values() for r in records if "outcome" in r}
    assert seen >= {"kept", "watermark_row", "malformed_row", "question_closed", "question_community_wiki",
                    "question_without_answer", "answer_score_below_10", "answer_too_short", "answer_too_long",
                    "answer_first_person", "answer_refers_to_others"}
    assert len({o for o in seen if o.startswith("title_")} & set(se_rules.TITLE_DROP_REASONS)) >= 3


def test_kept_answers_keep_i_only_inside_code_or_quotes(posts, stage01):
    """The first-person rule reads the answer's prose: a bare "I" inside a code block (unix) or a
    quotation (cooking) does not drop the pair, and these two kept answers carry one there only."""
    found = []
    for site, res in stage01.items():
        bodies = {r.get("Id"): r["Body"] for r in posts[site] if "Body" in r}
        for pair in res.qualifying:
            body = bodies[pair["answer_id"]]
            if re.search(r"\bI\b", body) and not re.search(r"\bI\b", clean_html(body).prose):
                found.append((site, pair["question_id"]))
    assert sorted(found) == [("cooking.stackexchange.com", 30), ("unix.stackexchange.com", 233)]


def test_comment_threads_alternate_between_asker_and_answerer(files):
    threads = 0
    for site in SITES:
        posts = {r["Id"]: r for r in _rows(files[site]["Posts.xml"]) if "Id" in r}
        by_post = defaultdict(list)
        for c in _rows(files[site]["Comments.xml"]):
            assert set(c) <= {"Id", "PostId", "Score", "Text", "CreationDate", "UserDisplayName",
                              "UserId", "ContentLicense"}
            by_post[c["PostId"]].append(c)
        for pid, comments in by_post.items():
            post = posts[pid]
            if post["PostTypeId"] != "2" or len(comments) < 2:
                continue
            asker = posts[post["ParentId"]]["OwnerUserId"]
            users = [c["UserId"] for c in sorted(comments, key=lambda c: c["CreationDate"])]
            assert users[0] == asker and all(u != v for u, v in zip(users, users[1:])), (site, pid)
            assert set(users) == {asker, post["OwnerUserId"]} and int(post["CommentCount"]) == len(users)
            threads += 1
    assert threads >= 6
