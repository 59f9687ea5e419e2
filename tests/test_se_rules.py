"""The Stack Exchange rules one by one, with inputs that would break them.

Run: .venv/bin/python -m pytest -q tests/test_se_rules.py
"""
import pytest

from lima.sources.stackexchange import rules as se_rules
from lima.sources.stackexchange import sites as se_sites
from lima.sources.stackexchange.html import clean_html

# Written by us to look like real titles. True = a reader can answer from the title alone.
LABELLED_TITLES = [
    ("How do I remove a file whose name starts with a dash?", True),
    ("Why does bread go stale faster in the refrigerator?", True),
    ("What is the difference between baking soda and baking powder?", True),
    ("Can I bring cheese from France into the United States?", True),
    ("How long can cooked rice safely stay at room temperature?", True),
    ("Why is the sky blue but sunsets are red?", True),
    ("Is it safe to eat raw cookie dough?", True),
    ("What happens to a process when its parent is killed?", True),
    ("How can I find which process is listening on a port?", True),
    ("Why does water boil at a lower temperature at high altitude?", True),
    ("Do I need a transit visa for a layover in Frankfurt?", True),
    ("What is the origin of the word 'quarantine'?", True),
    ("How do tomatoes ripen after being picked?", True),
    ("Should I water succulents in winter?", True),
    ("What is the time complexity of Python's list.sort?", True),
    ("Is it possible to pickle a lambda in Python?", True),
    ("How does a catalyst lower the activation energy of a reaction?", True),
    ("Why are noble gases unreactive?", True),
    ("What is the best way to keep basil fresh?", True),
    ("When should I use a mutex instead of a semaphore?", True),
    ("How do I redirect both stdout and stderr to a file in bash?", True),
    ("Which countries drive on the left side of the road?", True),
    ("Are tips expected in restaurants in Japan?", True),
    ("Why do onions make you cry?", True),
    ("How much yeast should I use for a pizza dough made with 500 g of flour?", True),
    ("Can you freeze fresh mozzarella?", True),
    ("What does the sticky bit do on a directory?", True),
    ("Why does ice float on water?", True),
    ("How do I convert a string to a datetime in Java?", True),
    ("Is tap water in Lisbon safe to drink?", True),
    ("Difference between sautéing and stir-frying?", True),
    ("Why is parsing the output of ls considered a bad idea?", True),
    ("Why is the output empty?", False),
    ("What causes the Maillard reaction?", True),
    # not self-contained: the body is needed
    ("What is wrong with this sourdough?", False),
    ("Help with my crontab", False),
    ("Why does it fail?", False),
    ("Problem with sed", False),
    ("Why doesn't this code compile?", False),
    ("How can I fix the error below?", False),
    ("What does this regex mean?", False),
    ("Is my plant dying?", False),
    ("Error when running script", False),
    ("Python list comprehension", False),
    ("How to do this in awk?", False),
    ("Strange behaviour", False),
    ("Can someone explain the following reaction mechanism?", False),
    ("Why is my code so slow?", False),
    ("What am I doing wrong here?", False),
    ("Is that normal?", False),
    ("Question about visas", False),
    ("Need help with a Schengen itinerary", False),
    ("Same problem as above but with zsh", False),
    ("Why does it smell like that?", False),
    ("Rice cooker", False),
    ("Can this be frozen?", False),
    ("Which one should I choose:", False),
    ("Is these pan safe?", False),
    ("How do I fix the exception?", False),
    ("Why did my dough not rise?", False),  # needs the recipe in the body
    ("Segmentation fault in C", False),
    ("Issue with grep and special characters", False),
    # Added with the recalibration on the release: titles that are not questions but can be
    # answered alone (the paper kept such), and more ways of leaning on the body.
    ("Securing small home automation setup", True),      # released by the paper
    ("Difference between a process and a thread", True),
    ("Converting a list of dictionaries to a pandas DataFrame", True),
    ("Substitute for eggs in brownies", True),
    ("Storing fresh ginger for several months", True),
    ("Advantages of cast iron over stainless steel pans", True),
    ("Recursive grep excluding a directory", True),
    ("Visa requirements for a Canadian citizen visiting Brazil", True),
    ("Pruning tomato suckers in a greenhouse", True),
    ("Proof that the square root of 2 is irrational", True),
    ("Merge two sorted arrays in linear time", True),
    ("git push rejected: non-fast-forward updates were rejected", True),
    ("ImportError: No module named 'numpy' in a virtualenv", True),
    ("fatal: refusing to merge unrelated histories", True),
    ("Python 3 integer division rounding towards negative infinity", True),
    ("Meaning of the tilde in a package.json version range", True),
    ("Best practices for storing passwords in a database", True),
    ("Origin of the phrase 'bite the bullet'", True),
    ("Keeping guacamole from turning brown", True),
    ("Using sed to replace newlines with commas", True),
    ("Explain the difference between yeast and sourdough starter", True),
    ("Sharing a tmux session between two users", True),
    ("Effect of altitude on baking times", True),
    ("Cheapest way to travel from Milan to Venice by train", True),
    ("Handling daylight saving time changes in cron jobs", True),
    ("Entering Schengen with an expired residence permit", True),
    ("NullPointerException when calling getActivity() in a Fragment", True),
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock", True),
    ("Not sure what is going on", False),
    ("Can someone look at my code?", False),
    ("Stuck on exercise 3", False),
    ("Please help me understand the output", False),
    ("Getting an error while installing packages", False),
    ("Crash when opening the app", False),
    ("Weird behaviour in my loop", False),
    ("Is this recipe safe?", False),
    ("Why won't it compile?", False),
    ("Doesn't work on Windows", False),
    ("What does this mean?", False),
    ("Can anyone help me with regex", False),
    ("How to fix it?", False),
    ("Identify this plant please", False),
    ("Where did I go wrong in my proof?", False),
    ("Code runs but gives wrong answer", False),
    ("Why is the result different?", False),
    ("Is the following argument valid?", False),
    ("How can I make it faster?", False),
    ("Troubleshooting my network setup", False),
    ("Problems installing Ubuntu alongside Windows", False),
    ("Unexpected output", False),
    ("Anyone know why?", False),
    ("Error: see below", False),
    ("Question regarding a transit visa", False),
    ("Same thing happens on Ubuntu 22.04", False),
    ("Which of these is better?", False),
    ("Need advice on my garden", False),
    ("Cake didn't turn out right", False),
    ("Is it safe to eat raw eggs?", True),
    ("Is it worth learning Haskell?", True),
    ("How do I convert it to a string?", False),
]


def _self_contained(title: str) -> bool:
    return se_rules.title_drop_reason(title) is None


def test_title_heuristic_accuracy_on_labelled_titles():
    """Measured: 119 of 122 (97.5%); the misses are negatives with no marker at all."""
    assert len(LABELLED_TITLES) >= 100
    assert sum(1 for _, y in LABELLED_TITLES if y) >= 40 and sum(1 for _, y in LABELLED_TITLES if not y) >= 40
    assert len({t for t, _ in LABELLED_TITLES}) == len(LABELLED_TITLES)
    wrong = [(t, y) for t, y in LABELLED_TITLES if _self_contained(t) != y]
    accuracy = 1 - len(wrong) / len(LABELLED_TITLES)
    assert accuracy >= 0.90, f"accuracy {accuracy:.2f}; wrong: {wrong}"


def _release_titles(lines: list[str]) -> list[str]:
    """The lines of the release's one-line prompts that are titles, judged by form: titles are plain
    text, so a line with a code span (```, rendered from the body's <code>) is a body."""
    return [line for line in lines if line.strip() and "```" not in line]


def test_titles_the_paper_kept_are_accepted(release_short_prompts):
    """§2.1's "self-contained in the title", as the release applied it. Measured: 132 of the 141
    lines are titles by form, all 132 accepted (the rule before this calibration: 115)."""
    lines = release_short_prompts.read_text(encoding="utf-8").splitlines()
    titles = _release_titles(lines)
    assert len(titles) >= 100
    rejected = [(t, se_rules.title_drop_reason(t)) for t in titles if not _self_contained(t)]
    assert 1 - len(rejected) / len(titles) >= 0.95, rejected
    for kept in ("Understanding the Rails Authenticity Token", "Border around formatted text in Inkscape",
                 "pod install -bash: pod: command not found"):
        assert kept in titles and _self_contained(kept)


@pytest.mark.parametrize("title", ["What is wrong with this?", "Help", "Why does it crash?", "Error:"])
def test_title_pointing_at_the_body_is_rejected(title):
    assert not _self_contained(title)


@pytest.mark.parametrize("title,reason", [
    ("Python list comprehension", "title_too_short"),
    ("Which one should I choose between:", "title_incomplete"),
    ("Question regarding a transit visa", "title_help_request"),
    ("Not sure what is going on", "title_vague"),
    ("Why is my code so slow?", "title_my_artefact"),
    ("Can someone explain the following reaction mechanism?", "title_deictic"),
    ("How can I make it faster?", "title_subjectless"),
    ("Segmentation fault in C", "title_error_only"),
])
def test_each_title_sub_rule_has_its_named_drop_reason(title, reason):
    assert reason in se_rules.TITLE_DROP_REASONS
    assert se_rules.title_drop_reason(title) == reason


def test_noun_phrase_and_error_message_titles_pass_but_bare_error_kinds_do_not():
    for title in ("Securing small home automation setup", "Alternative to Windows Snipping Tool for Mac OSX",
                  "Prove that the union of countably many countable sets is countable.",
                  "fatal: refusing to merge unrelated histories", "Error 502 from nginx behind a load balancer"):
        assert se_rules.title_drop_reason(title) is None, title
    assert se_rules.title_drop_reason("Getting an error while installing packages") == "title_error_only"


def test_this_pointing_back_inside_the_title_is_not_deictic():
    assert _self_contained(
        "My online friend is asking for money to visit my country. Is this a legit request or a scam?")
    assert _self_contained('How do I make ChatGPT say "these symbols are not allowed"?')
    assert se_rules.title_drop_reason("Why is this dough so sticky?") == "title_deictic"
    assert se_rules.title_drop_reason("Is it fine, or is this mould?") == "title_deictic"   # clause too short


def test_first_person_opening_is_first_person():
    assert se_rules.is_first_person("I have been baking bread for ten years. The trick is the flour.")
    assert se_rules.is_first_person("My advice is simple: use less water.")


def test_occasional_i_mid_answer_is_not_first_person():
    prose = ("Gluten forms when flour is hydrated and kneaded. " * 20) + "I would add a pinch of salt. " + \
            ("The dough then rests for an hour so the network relaxes. " * 20)
    assert not se_rules.is_first_person(prose)


def test_dense_first_person_is_first_person():
    prose = "The oven matters. " + "In my kitchen I bake at 250 C and my loaves are fine. " * 5
    assert se_rules.is_first_person(prose)


def test_i_inside_code_or_quotation_does_not_count():
    html = ("<p>Loops are written like this:</p><pre><code>for I in range(3):\n    print(I)\n</code></pre>"
            "<blockquote><p>I came, I saw, I conquered.</p></blockquote><p>The variable is an integer.</p>")
    cleaned = clean_html(html)
    assert "I came" in cleaned.text and "for I in" in cleaned.text
    assert not se_rules.is_first_person(cleaned.prose)
    assert se_rules.is_first_person(clean_html("<p>I came, I saw.</p>").prose)


@pytest.mark.parametrize("text", [
    "As mentioned in the other answer, the pan must be hot.",
    "This is covered on Stack Exchange elsewhere.",
    "See the accepted answer for details.",
    "Edit: fixed a typo.",
    "Thanks @jonathan for the hint.",
    "Upvoted, but the temperature is wrong.",
    "Like the answer above says, rest the dough.",
])
def test_references_to_other_posts_or_the_site_are_caught(text):
    assert se_rules.refers_to_others(text)


@pytest.mark.parametrize("text", [
    "Other factors matter too, such as humidity.",
    "The editor opens the file; update the package list first.",
    "Email me at the address on the label.",
    "Answers to these questions depend on the flour.",
])
def test_ordinary_prose_is_not_a_reference(text):
    assert not se_rules.refers_to_others(text)


def test_answer_rules_in_order_with_named_reasons():
    ok = "The dough needs time. " * 10
    assert se_rules.answer_drop_reason(9, 2000, ok) == "answer_score_below_10"
    assert se_rules.answer_drop_reason(10, 1199, ok) == "answer_too_short"
    assert se_rules.answer_drop_reason(10, 4097, ok) == "answer_too_long"
    assert se_rules.answer_drop_reason(10, 1200, "I think so. " + ok) == "answer_first_person"
    assert se_rules.answer_drop_reason(10, 4096, ok + " As mentioned above.") == "answer_refers_to_others"
    assert se_rules.answer_drop_reason(10, 1200, ok) is None


def test_cleaner_keeps_code_and_lists_and_drops_links_images_and_bare_urls():
    html = ('<p>Run <code>ls -l</code>, see <a href="https://a.example/x">the manual</a> and '
            '<a href="https://b.example">https://b.example/page</a>; also https://c.example/y.</p>'
            '<img src="x.png" alt="diagram"><pre><code>if x &lt; 3:\n    print("&amp;")\n</code></pre>'
            '<ol start="3"><li>three</li><li>four<ul><li>nested</li></ul></li></ol>'
            '<p>Fish&nbsp;&amp;   chips<br>next</p>')
    text = clean_html(html).text
    assert "```ls -l```" in text
    assert "the manual" in text and "a.example" not in text
    assert "b.example" not in text and "c.example" not in text
    assert "diagram" not in text and "<" not in text.replace("x < 3", "")
    assert '```\nif x < 3:\n    print("&")\n```' in text
    assert "3. three\n4. four\n   * nested" in text
    assert "Fish & chips\nnext" in text


def test_cleaner_survives_empty_and_broken_html():
    assert clean_html("").text == ""
    assert clean_html("<p>unclosed <b>bold").text == "unclosed bold"


def test_site_table_matches_the_documented_split():
    assert len(se_sites.STEM - {"windowsphone"}) == 75
    assert len(se_sites.OTHER) == 94 and len(se_sites.NICHE) == 5
    assert not se_sites.STEM & se_sites.OTHER
    assert se_sites.classify("cooking.stackexchange.com") == ("other", "table")
    assert se_sites.classify("askubuntu.com")[0] == "stem"
    assert se_sites.classify("mathoverflow.net")[0] == "stem"
    assert se_sites.classify("stackoverflow.com")[0] == "stem"
    assert se_sites.classify("alcohol.stackexchange.com")[0] == "other"   # renamed to beer
    assert se_sites.classify("cooking.meta.stackexchange.com")[0] is None
    assert se_sites.classify("meta.stackexchange.com")[0] is None
    assert se_sites.classify("ru.stackoverflow.com")[0] is None
    with pytest.raises(KeyError):
        se_sites.classify("newsite.stackexchange.com")
    assert se_sites.classify("newsite.stackexchange.com", default="other") == ("other", "--default-category")
