"""Stack Exchange HTML -> text: the release's layout (line breaks) and no dangling attribution.

Run: .venv/bin/python -m pytest -q tests/test_se_html.py
"""
import re

import pytest

from lima.dataset.composition import RELEASE_SE_BREAKS
from lima.sources.stackexchange.html import clean_html, paragraph_stats
from lima.sources.stackexchange.posts import collect_site

# What a reader would call a dangling attribution at the end of an answer.
DANGLING = re.compile(r"(?:^|[.!?:;\"]\s*)(?:sources?|sourced from|see|via|more at|from|credits?)\s*:?\s*\Z", re.I)


def test_paragraphs_break_on_one_newline_and_lists_code_quotes_rules_are_set_off():
    html = ("<h2>Title</h2>\n\n<p>One.</p>\n\n<p>Two<br>\nstill two,\nand a source newline.</p>\n<ul>\n<li>a</li>\n"
            "<li>b</li>\n</ul>\n<p>Three.</p><pre><code>x = 1\n</code></pre><p>Four.</p>"
            "<blockquote><p>q1</p><p>q2</p></blockquote><p>Five.</p><hr><p>Six.</p>")
    assert clean_html(html).text == ("Title\nOne.\nTwo\nstill two,\nand a source newline.\n\n* a\n* b\n\nThree.\n\n"
                                     "```\nx = 1\n```\n\nFour.\n\nq1\nq2\n\nFive.\n\nSix.")


def test_old_and_new_dump_html_render_alike():
    old = "<p>One.</p>\n\n<p>Two.</p>\n\n<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n\n<p>Three.</p>\n"
    new = "<p>One.</p>\n<p>Two.</p>\n<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n<p>Three.</p>\n"
    assert clean_html(old).text == clean_html(new).text == "One.\nTwo.\n\n1. a\n2. b\n\nThree."


def test_list_items_keep_their_breaks_under_the_marker():
    text = clean_html("<ul><li><p>first</p><p>second</p><pre><code>code</code></pre></li><li>b</li></ul>").text
    assert text == "* first\n  second\n\n  ```\n  code\n  ```\n* b"


@pytest.mark.parametrize("html, expected", [
    ('<p>Body text.</p>\n<p>Sourced from <a href="http://r.example/">http://r.example/</a></p>', "Body text."),
    ('<p>It is bitter. Source: <a href="https://a.example/x">https://a.example/x</a></p>', "It is bitter."),
    ('<p>It is bitter.\nSources: <a href="https://a.example">https://a.example</a> and https://b.example.</p>',
     "It is bitter."),
    ('<p>More caffeine (source: <a href="https://a.example">https://a.example</a>) than Arabica.</p>',
     "More caffeine than Arabica."),
    ('<p>Body text.</p><p>Source:</p><p><a href="https://a.example">https://a.example</a></p>', "Body text."),
    ('<p>It differs. From\n<a href="https://a.example">https://a.example</a>:</p><blockquote><p>quote</p></blockquote>',
     "It differs.\n\nquote"),
    ('<p>Body text. See <a href="https://a.example">https://a.example</a>.</p>', "Body text."),
    ('<p>Body text.</p><p>via <a href="https://a.example"><img src="https://a.example/i.png"></a></p>', "Body text."),
    ('<p>Body text. More at https://a.example</p>', "Body text."),
])
def test_an_attribution_left_empty_by_link_removal_goes_and_is_counted(html, expected):
    cleaned = clean_html(html)
    assert cleaned.text == expected
    assert cleaned.attributions_removed == 1


@pytest.mark.parametrize("html, expected", [
    ('<p>Source: <a href="https://w.example">Wikipedia</a></p>', "Source: Wikipedia"),
    ('<p>See <a href="https://m.example">the manual</a>.</p>', "See the manual."),
    ('<p>I got it from https://a.example yesterday.</p>', "I got it from yesterday."),
    ("<p>Source: the label on the bag.</p>", "Source: the label on the bag."),
    ('<p>Check the manual (https://m.example).</p>', "Check the manual."),
    ('<p>For more, this query helps, https://a.example.</p>', "For more, this query helps."),
])
def test_attributions_with_content_stay(html, expected):
    cleaned = clean_html(html)
    assert cleaned.text == expected and cleaned.attributions_removed == 0


def test_format_stats_count_runs_of_newlines():
    s = paragraph_stats(["a\nb\n\nc", "d\n\n\ne\nf"])
    assert (s["answers"], s["single_breaks"], s["blank_lines"]) == (2, 2, 2)
    assert s["single_share"] == 0.5 and s["blank_per_single"] == 1.0


def _real_answers(realdata):
    qualifying, top = [], []
    removed = 0
    for site in ("coffee.stackexchange.com", "genai.stackexchange.com"):
        res = collect_site([(realdata / "stackexchange" / site / "Posts.xml").read_bytes()], site, site, "other")
        qualifying += [p["answer"] for p in res.qualifying]
        top += [p["answer"] for p in res.unfiltered]
        removed += res.read["answer_attributions_removed"]
    return qualifying, top, removed


def test_real_dumps_break_lines_as_the_release_does(realdata):
    """The shares of single-newline breaks and of blank lines match our count of the release's
    400 answers within 10%; per-answer rates depend on answer length, so they are not compared."""
    rel = RELEASE_SE_BREAKS
    rel_share = rel["single"] / (rel["single"] + rel["blank"])
    rel_ratio = rel["blank"] / rel["single"]
    qualifying, top, _ = _real_answers(realdata)
    assert len(qualifying) >= 5 and len(top) >= 300
    for answers in (qualifying, top):
        s = paragraph_stats(answers)
        assert abs(s["single_share"] / rel_share - 1) <= 0.10, s
        assert abs(s["blank_per_single"] / rel_ratio - 1) <= 0.10, s


def test_real_dumps_leave_no_dangling_attribution(realdata):
    qualifying, top, removed = _real_answers(realdata)
    assert removed >= 10                     # coffee.SE's "Sourced from <url>" answers, genai's "Source: <url>"
    for text in top:
        assert not DANGLING.search(text), text[-120:]
        assert "\ue000" not in text
