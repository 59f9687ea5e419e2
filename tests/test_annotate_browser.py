"""The labelling page in a real browser: Debian's chromium driven through its chromedriver by Selenium
(no driver is downloaded). An annotator labels with the keyboard and the mouse, closes the browser,
comes back in a fresh one (a new profile: nothing kept on the browser's side) and finds the progress
resumed, labels the rest, whole conversations (§6) among them, both sides shown turn by turn; a second
annotator labels the shared items over HTTP; the summary counts every label and measures agreement on
them. An odd name is refused in the page.

Skipped with one line where chromium, chromedriver or selenium is missing (.ci/run installs them).
Run: .venv/bin/python -m pytest -q tests/test_annotate_browser.py
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request

import pytest

from conftest import ROOT, run_script

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER and webdriver),
                                reason="no browser: needs chromium, chromedriver (apt-get install chromium "
                                       "chromium-driver) and selenium (requirements-test.txt)")
# Chromium as root in a container with no network beyond the registries (docs: the flags it needs here).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,900")
WAIT_S = 15


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def served(tmp_path):
    """The real script serving a study of 6 pairwise items (3 shared), 2 absolute ones and 2 whole
    conversations (make dialogue's pairs), roster alice,bob."""
    gens = write_jsonl(tmp_path / "epoch_10.test.jsonl", [{"id": f"t/{i}", "sample_idx": 0, "prompt": f"Question {i}?",
                                                           "response": f"Our answer {i}."} for i in range(6)])
    base = write_jsonl(tmp_path / "alpaca.jsonl", [{"id": f"t/{i}", "prompt": f"Question {i}?",
                                                    "response": f"Their answer {i}."} for i in range(6)])
    convs = write_jsonl(tmp_path / "conversations.jsonl", [
        {"id": f"scripted/{i}", "user": [f"First message {i}?", f"Second message {i}?"],
         "dialogue": [f"Dialogue reply 1/{i}.", f"Dialogue reply 2/{i}."],
         "zero-shot": [f"Zero-shot reply 1/{i}.", f"Zero-shot reply 2/{i}."]} for i in range(2)])
    human = tmp_path / "human"
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "06_annotate.py"), "serve", "--generations", str(gens),
                             "--baseline", f"alpaca-65b={base}", "--conversations", str(convs), "--study", str(human), "--shared", "3",
                             "--absolute", "2", "--annotators", "alice,bob", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")})
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline()).group(0)
        yield url, human, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="chromium-"))
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def progress(d) -> tuple[int, int]:
    m = re.match(r"(\d+) / (\d+) labelled", d.find_element(By.ID, "progress-text").text)
    return (int(m.group(1)), int(m.group(2))) if m else (-1, -1)


def log_in(d, url, name):
    d.get(url)
    box = WebDriverWait(d, WAIT_S).until(lambda d: d.find_element(By.ID, "name") if d.find_element(By.ID, "login").is_displayed() else None)
    box.clear()
    box.send_keys(name)
    d.find_element(By.ID, "start").click()


def press(d, key, expect_done):
    d.find_element(By.TAG_NAME, "body").send_keys(key)
    WebDriverWait(d, WAIT_S).until(lambda d: progress(d)[0] == expect_done)


def test_label_close_resume_and_count(served):
    url, human, proc = served
    d = browser()
    try:
        log_in(d, url, "bob smith")                                      # an odd name: refused in the page
        error = WebDriverWait(d, WAIT_S).until(lambda d: d.find_element(By.ID, "login-error").text)
        assert "not allowed" in error and d.find_element(By.ID, "login").is_displayed()
        log_in(d, url, "alice")
        WebDriverWait(d, WAIT_S).until(lambda d: d.find_element(By.ID, "task").is_displayed())
        done, total = progress(d)
        assert done == 0 and total >= 5
        assert "super-intelligent AI assistant" in d.find_element(By.ID, "question").text
        assert d.find_element(By.ID, "shared").is_displayed()           # the shared items come first
        press(d, "a", 1)                                                 # Answer A, by letter
        press(d, "3", 2)                                                 # neither, by number
        d.find_element(By.CSS_SELECTOR, "button.choice[data-label='B']").click()
        WebDriverWait(d, WAIT_S).until(lambda d: progress(d)[0] == 3)
        assert "Item 4 of" in d.find_element(By.ID, "position").text
    finally:
        d.quit()

    d = browser()                                                        # a fresh browser, a fresh profile
    try:
        log_in(d, url, "alice")
        WebDriverWait(d, WAIT_S).until(lambda d: d.find_element(By.ID, "task").is_displayed() and progress(d)[0] == 3)
        assert progress(d) == (3, total) and "Item 4 of" in d.find_element(By.ID, "position").text
        d.find_element(By.ID, "prev").click()                            # the earlier label is shown
        WebDriverWait(d, WAIT_S).until(lambda d: "Item 3 of" in d.find_element(By.ID, "position").text)
        assert d.find_element(By.CSS_SELECTOR, "button.choice[aria-pressed='true']").get_attribute("data-label") == "B"
        d.find_element(By.ID, "first-open").click()
        WebDriverWait(d, WAIT_S).until(lambda d: "Item 4 of" in d.find_element(By.ID, "position").text)
        conversations = 0
        for k in range(3, total):                                        # 2 = Answer B / Pass / Conversation B
            if d.find_element(By.ID, "kind").text == "Which conversation is better?":
                conversations += 1
                assert not d.find_element(By.ID, "prompt").is_displayed()
                assert not d.find_element(By.ID, "answer-a").is_displayed()
                sides = [[m.text for m in d.find_elements(By.CSS_SELECTOR, f"#{side} .msg")] for side in ("conv-a", "conv-b")]
                assert [len(side) for side in sides] == [4, 4]           # 2 user turns, 2 replies, each side
                assert sides[0][0] == sides[1][0] and sides[0][0].startswith("You\nFirst message")
                assert {sides[0][1].split("\n")[1].split()[0], sides[1][1].split("\n")[1].split()[0]} == {"Dialogue", "Zero-shot"}
                assert "whole conversation" in d.find_element(By.ID, "question").text
                assert "Conversation B is significantly better." in d.find_element(By.ID, "choices").text
            press(d, "2", k + 1)
        assert conversations == 2
        WebDriverWait(d, WAIT_S).until(lambda d: d.find_element(By.ID, "done").is_displayed())
        assert f"all {total} of your items" in d.find_element(By.ID, "done-text").text
        kinds = {json.loads(line)["item_id"].split("/")[0] for line in (human / "labels.jsonl").read_text().splitlines()}
        assert kinds == {"pairwise", "absolute", "conversation"}
    finally:
        d.quit()

    for _ in range(3):                                                   # bob labels the shared items over HTTP
        with urllib.request.urlopen(f"{url}api/item?annotator=bob", timeout=10) as r:
            item = json.load(r)["item"]
        body = json.dumps({"annotator": "bob", "item_id": item["item_id"], "digest": item["digest"], "label": "A"}).encode()
        with urllib.request.urlopen(urllib.request.Request(f"{url}api/label", body, {"Content-Type": "application/json"}),
                                    timeout=10) as r:
            assert r.status == 200
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0

    report = human.parent / "report" / "human.md"
    run_script("06_annotate.py", "summary", "--study", human, "--report", report)
    s = json.loads((human / "summary.json").read_text())
    by_name = {a["name"]: a for a in s["annotators"]}
    assert by_name["alice"]["labels"] == total and by_name["bob"]["labels"] == 3
    hh = s["agreement"]["human_human"]
    # alice: A, neither, B on the 3 shared items; bob: A on all three. Scores 1 + 0.5 + 0 = 1.5 of 3.
    assert hh["n_items"] == 3 and hh["agreement"] == 0.5
    # every item alice holds counted once (the shared ones too, though two labelled them); bob's own are open
    assert s["pairwise"]["alpaca-65b"]["n"] + s["absolute"]["n"] + s["conversation"]["n"] == total
    assert s["absolute"]["n"] >= 1 and s["conversation"]["n"] == 2 and s["conversation"]["tie"] == 0
    assert "| alice – bob | 50% | 3 |" in report.read_text()
