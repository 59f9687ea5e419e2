"""wikiHow page and CSV -> LIMA example: every removal, the response shape, the bad-input skips.

Run: .venv/bin/python -m pytest -q tests/test_wikihow_parse.py
"""
import json
import re

import pytest

from conftest import run_script
from lima.errors import StageError
from lima.sources.wikihow.parse import (ParseSkip, csv_slug, decode_page, iter_csv_articles, make_record,
                                parse_article, render_response, to_prompt)
from lima.sources.wikihow.crawl import category_key, is_article_key, parse_category_page

STEP = ('<li id="step-id-{m}{n}"><div class="mwimg"><a class="image lightbox" href="/Image:X.jpg">'
        '<img src="data:image/gif;base64,R0lG" data-src="https://cdn.example/step-{m}{n}.jpg" alt="Step picture"></a></div>'
        '<div class="step_num">{n}</div><div class="step"><b class="whb">{head}</b> {body}</div>'
        '<div class="clearall"></div></li>')


def page(methods, *, intro="<p>Omelettes are quick.</p>", extra="", h1=True, labels="altblock"):
    """A small page in wikiHow's structure; methods = [(title, [(headline, body_html), ...])]."""
    secs = []
    for m, (title, steps) in enumerate(methods):
        if len(methods) == 1:
            h = '<h2><span class="mw-headline" id="Steps">Steps</span></h2>'
        elif labels == "altblock":
            h = (f'<h3><div class="altblock"><span>Method</span><span>{m + 1}</span></div>'
                 f'<span class="mw-headline" id="m{m}">{title}</span></h3>')
        else:
            h = f'<h3><span class="mw-headline" id="m{m}">{title}</span></h3>'
        lis = "".join(STEP.format(m=m, n=n + 1, head=hd, body=b) for n, (hd, b) in enumerate(steps))
        secs.append(f'<div class="section steps"> {h}<div class="section_text"><ol>{lis}</ol></div></div>')
    title = '<h1 class="title_md"><a href="/Cook-an-Omelette">How to Cook an Omelette</a></h1>' if h1 else ""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title><script>var x = "<p>no</p>";</script></head>'
            f'<body><ul id="breadcrumb"><li><a href="/Category:Food">Food</a></li></ul>'
            f'<div id="content_inner"><div class="pre-content">{title}'
            f'<div id="byline_info">Co-authored by Dr. Expert</div><div class="sp_stats_box">'
            f'<span class="sp_helpful_rating_count">95% of readers found this helpful</span></div></div>'
            f'<div id="intro" class="mf-section-0">{intro}</div>{"".join(secs)}{extra}'
            f'<div id="article_rating">Did this article help you?</div></div></body></html>')


FULL_EXTRA = (
    '<div id="ingredients" class="section ingredients"><h2>Ingredients</h2><ul><li>3 eggs</li><li>Butter</li></ul></div>'
    '<div id="video" class="section video"><h2>Video</h2><div class="embedvideocontainer"><iframe data-src="https://v.example/1">'
    '</iframe><video data-src="/v.mp4">Video transcript here</video></div></div>'
    '<div id="qa" class="section qa"><h2>Community Q&amp;A</h2><div class="qa_q_txt">Can I use oil?</div>'
    '<div class="qa_answer">Yes, oil works.</div></div>'
    '<div id="tips" class="section tips"><h2>Tips</h2><ul><li>Use a <a href="/Nonstick">nonstick</a> pan.</li></ul></div>'
    '<div id="warnings" class="section warnings"><h2>Warnings</h2><ul><li>The handle gets hot.</li></ul></div>'
    '<div id="thingsyoullneed" class="section thingsyoullneed"><h2>Things You\'ll Need</h2><ul><li>Spatula</li></ul></div>'
    '<div id="relatedwikihows" class="section relatedwikihows"><a href="/Make-Pancakes">How to Make Pancakes</a></div>'
    '<div id="references_first" class="section references sourcesandcitations"><h2>References</h2><ol><li>'
    '<a class="external free" href="https://ref.example/eggs">https://ref.example/eggs</a></li></ol></div>')

TWO_METHODS = [
    ("Folding a Classic Omelette", [
        ("Beat the eggs.", 'Whisk them with a <a href="/Use-a-Fork">fork</a> until even.'
                           '<sup id="_ref-1" class="reference"><a href="#_note-1">[1]</a></sup>'
                           '<ul><li>Add milk if you like.</li><li>Salt them now.</li></ul>'),
        ("Heat the pan", "Melt the butter over medium heat.")]),
    ("Baking a Fluffy Omelette", [("Heat the oven.", "Use 350 °F (177 °C).")]),
]


def test_response_has_intro_method_headers_and_numbered_steps():
    art = parse_article(page(TWO_METHODS))
    assert render_response(art) == (
        "Omelettes are quick.\n\n"
        "## Folding a Classic Omelette\n"
        "1. Beat the eggs. Whisk them with a fork until even.\n"
        "   * Add milk if you like.\n"
        "   * Salt them now.\n"
        "2. Heat the pan. Melt the butter over medium heat.\n\n"
        "## Baking a Fluffy Omelette\n"
        "1. Heat the oven. Use 350 °F (177 °C).")
    assert art.kind == "method" and len(art.methods) == 2


def test_single_method_article_has_no_header_line():
    art = parse_article(page(TWO_METHODS[:1]))
    text = render_response(art)
    assert "##" not in text and text.splitlines()[2].startswith("1. Beat the eggs. Whisk")
    assert art.kind == "steps"


def test_method_n_of_m_prefix_is_stripped_and_parts_are_recognised():
    parts = [("Part 1 of 2: Preparing", [("Crack the eggs.", "Into a bowl.")]),
             ("Part 2 of 2: Cooking", [("Cook them.", "In a pan.")])]
    art = parse_article(page(parts, labels="inline"))
    assert [m.title for m in art.methods] == ["Preparing", "Cooking"] and art.kind == "part"


@pytest.mark.parametrize("unwanted", [
    "data-src", "cdn.example", "Step picture", "[1]", "ref.example", "References", "Video", "transcript",
    "Can I use oil", "Yes, oil works", "Co-authored", "Dr. Expert", "95% of readers", "Did this article help",
    "Make Pancakes", "no</p>", "Tips", "nonstick", "Warnings", "handle gets hot", "Spatula", "3 eggs",
    "Ingredients", "<a", "href",
])
def test_removed_content_never_reaches_the_response(unwanted):
    text = render_response(parse_article(page(TWO_METHODS, extra=FULL_EXTRA)))
    assert unwanted not in text


def test_link_text_stays_while_the_link_goes():
    text = render_response(parse_article(page(TWO_METHODS)))
    assert "with a fork until even." in text and "Use-a-Fork" not in text


def test_dropped_sections_are_recorded_and_can_be_kept():
    art = parse_article(page(TWO_METHODS, extra=FULL_EXTRA))
    rec = make_record("Cook-an-Omelette", art, url="https://www.wikihow.com/Cook-an-Omelette",
                      category="Food and Entertaining")
    assert rec["meta"]["dropped_sections"] == ["ingredients", "qa", "references", "related",
                                               "thingsyoullneed", "tips", "video", "warnings"]
    kept = make_record("Cook-an-Omelette", art, url=None, category=None,
                       keep=("tips", "warnings", "ingredients", "thingsyoullneed"))
    text = kept["conversations"][1]
    assert "## Tips\n* Use a nonstick pan." in text and "## Warnings\n* The handle gets hot." in text
    assert text.index("## Ingredients\n* 3 eggs\n* Butter") < text.index("## Folding")
    assert "## Things You'll Need\n* Spatula" in text
    assert kept["meta"]["dropped_sections"] == ["qa", "references", "related", "video"]


def test_record_follows_the_data_contract():
    rec = make_record("Trim-a-Dog%27s-Nails", parse_article(page(TWO_METHODS)),
                      url="https://www.wikihow.com/Trim-a-Dog%27s-Nails", category="Pets and Animals")
    assert rec["id"] == "wikihow/Trim-a-Dog's-Nails" and rec["source"] == "wikihow"
    assert rec["conversations"][0] == "How to Cook an Omelette?"
    assert {"url", "category", "methods", "dropped_sections"} <= set(rec["meta"])
    assert rec["meta"]["methods"] == 2 and rec["meta"]["steps"] == 3


@pytest.mark.parametrize("intro,expected", [
    ("<p>This article shows you how to cook eggs.</p>", "The following answer shows you how to cook eggs."),
    ("<p>This wikiHow teaches you how to cook eggs.</p>", "The following answer teaches you how to cook eggs."),
    ("<p>This wikiHow article covers eggs.</p>", "The following answer covers eggs."),
    ("<p>Eggs are great. This article is long.</p>", "Eggs are great. This article is long."),
])
def test_this_article_opening_becomes_the_following_answer(intro, expected):
    art = parse_article(page(TWO_METHODS, intro=intro))
    assert art.intro == expected and art.rewrote_opening == (expected != intro[3:-4])


@pytest.mark.parametrize("title,prompt", [
    ("How to Cook an Omelette", "How to Cook an Omelette?"),
    ("3 Ways to Cook Rice", "How to Cook Rice?"),
    ("Easy Ways to Clean a Grill", "How to Clean a Grill?"),
    ("What Does a Notary Do", "What Does a Notary Do?"),
    ("How to Tell If an Egg Is Bad?", "How to Tell If an Egg Is Bad?"),
])
def test_title_becomes_a_how_to_question(title, prompt):
    assert to_prompt(title) == prompt


def test_bad_pages_are_skipped_with_their_reason():
    with pytest.raises(ParseSkip) as e:
        parse_article(page(TWO_METHODS)[:-200])
    assert e.value.reason == "truncated_page"
    with pytest.raises(ParseSkip) as e:
        parse_article(page([("Steps", [])]))
    assert e.value.reason == "no_steps"
    with pytest.raises(ParseSkip) as e:
        parse_article(page(TWO_METHODS, h1=False))
    assert e.value.reason == "not_article"
    category = '<html><body><h1>Food</h1><div id="cat_all"><a href="/X">X</a></div></body></html>'
    assert pytest.raises(ParseSkip, parse_article, category).value.reason == "not_article"


def test_encoding_follows_the_declaration_and_rejects_mismatches():
    html = '<html><head><meta charset="windows-1252"></head><body>Crème brûlée</body></html>'
    assert "Crème brûlée" in decode_page(html.encode("cp1252"))
    assert "Crème" in decode_page(html.encode("cp1252"), "text/html; charset=windows-1252")
    assert decode_page("\ufeff<html>é</html>".encode("utf-8")) == "<html>é</html>"
    for raw, ctype in [(b"<html>caf\xe9</html>", None), (b"<html>x</html>", "text/html; charset=klingon")]:
        assert pytest.raises(ParseSkip, decode_page, raw, ctype).value.reason == "bad_encoding"


def test_category_page_yields_articles_subcategories_and_pages():
    html = ('<html><body><div id="subcats"><a href="/Category:Baking">Baking</a></div><div id="cat_all">'
            '<div class="responsive_thumb"><a href="/Make-Pancakes">P</a></div>'
            '<div class="responsive_thumb"><a href="https://www.wikihow.com/Bake-Bread#step">B</a></div>'
            '<div class="responsive_thumb"><a href="https://other.example/Spam">S</a></div>'
            '<div class="responsive_thumb"><a href="/Special:Randomizer">R</a></div></div>'
            '<div id="large_pagination"><a href="/Category:Food?pg=1">1</a><a href="/Category:Food?pg=2">2</a></div>'
            '</body></html>')
    arts, subs, pages = parse_category_page(html, "https://www.wikihow.com")
    assert arts == ["/Make-Pancakes", "/Bake-Bread"]
    assert subs == ["/Category:Baking"] and pages == ["/Category:Food", "/Category:Food?pg=2"]
    assert category_key("Cars & Other Vehicles") == "/Category:Cars-%26-Other-Vehicles"
    assert not is_article_key("/Category:Food") and not is_article_key("/a/b") and is_article_key("/X")


# ---- the WikiHow dataset CSVs ----------------------------------------------------------------

def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_sep_csv_groups_rows_into_methods(tmp_path):
    csv_path = write(tmp_path / "wikihowSep.csv",
                     "overview,headline,text,sectionLabel,title\n"
                     '" This article is about eggs. ","\nCrack the eggs."," Into a bowl.;\n",Using a Pan,How to Cook Eggs\n'
                     '" This article is about eggs. ","\nHeat the pan."," Medium heat.\n",Using a Pan,How to Cook Eggs\n'
                     '" This article is about eggs. ","\nBoil water."," A full pot.\n",Boiling,How to Cook Eggs\n'
                     '" Tea is nice. ","\nBoil water."," Fresh water.\n",Steps,How to Make Tea1\n')
    got = list(iter_csv_articles(csv_path))
    assert [t for t, _ in got] == ["How to Cook Eggs", "How to Make Tea1"]
    rec = make_record(csv_slug(got[0][0]), got[0][1], url=None, category=None)
    assert rec["conversations"] == ["How to Cook Eggs?",
                                    "The following answer is about eggs.\n\n## Using a Pan\n1. Crack the eggs. Into a bowl.\n"
                                    "2. Heat the pan. Medium heat.\n\n## Boiling\n1. Boil water. A full pot."]
    tea = make_record(csv_slug(got[1][0]), got[1][1], url=None, category=None)
    assert tea["id"] == "wikihow/Make-Tea1" and tea["conversations"][0] == "How to Make Tea?"
    assert "##" not in tea["conversations"][1]


def test_all_csv_pairs_headlines_with_texts_or_skips_the_row(tmp_path):
    csv_path = write(tmp_path / "wikihowAll.csv",
                     "headline,title,text\n"
                     '"\nCrack the eggs.,\nHeat the pan, e.g., a skillet.","How to Cook Eggs"," Use a bowl, a big one.;\n, Medium heat, e.g., gas.\n\nDo not rush.\n"\n'
                     '"\nOne.,\nTwo.","How to Count"," Only one text.\n"\n')
    (t1, a1), (t2, a2) = list(iter_csv_articles(csv_path))
    assert render_response(a1) == ("1. Crack the eggs. Use a bowl, a big one.\n"
                                   "2. Heat the pan, e.g., a skillet. Medium heat, e.g., gas.\n   * Do not rush.")
    assert isinstance(a2, ParseSkip) and a2.reason == "csv_step_count_mismatch"


def test_csv_with_other_columns_is_one_clear_error(tmp_path):
    bad = write(tmp_path / "x.csv", "title,heading,paragraph\nHow to X,Do it.,Now.\n")
    with pytest.raises(StageError, match="neither wikihowAll.csv"):
        list(iter_csv_articles(bad))


def test_real_wikihow_all_and_sep_rows_take_the_lima_shape(realdata, tmp_path):
    folder = realdata / "wikihow"
    all_rows = list(iter_csv_articles(folder / "wikihowAll.hf-dummy-sample.csv"))
    sep_rows = list(iter_csv_articles(folder / "wikihowSep.hf-dummy-sample.csv"))
    assert len(all_rows) == 1 and len(sep_rows) == 1
    art = all_rows[0][1]
    assert not isinstance(art, ParseSkip) and len(art.methods[0].steps) == 8
    text = render_response(art)
    assert re.match(r"1\. Keep related supplies in the same area\. If you're a photographer", text)
    assert text.count("\n8. Make a habit of throwing out") == 1 and ";\n" not in text and ".;" not in text
    sep = make_record(csv_slug(sep_rows[0][0]), sep_rows[0][1], url=None, category=None)
    assert sep["conversations"][0] == "How to Sell Fine Art Online?"
    assert sep["conversations"][1].startswith("So you're a new or aspiring artist")
    assert "\n\n1. Sell yourself first. Before doing anything else" in sep["conversations"][1]


def test_real_third_party_scrape_csv_is_refused(realdata):
    with pytest.raises(StageError, match="columns"):
        list(iter_csv_articles(realdata / "wikihow" / "scraped_wikiHow_title_heading_paragraph.csv"))


def test_stage_reads_a_csv_with_null_url_and_category(realdata, tmp_path):
    out = tmp_path / "wikihow.jsonl"
    run_script("02_wikihow.py", "--csv", realdata / "wikihow" / "wikihowAll.hf-dummy-sample.csv",
               "--out", out, "--quota", 5)
    rows = [json.loads(line) for line in out.open()]
    assert len(rows) == 1 and rows[0]["meta"]["url"] is None and rows[0]["meta"]["category"] is None
    stats = json.loads((tmp_path / "wikihow.stats.json").read_text())
    assert stats["read"]["csv_articles"] == 1 and stats["quota_met"] is False
