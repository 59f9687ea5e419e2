"""Stage 06, the judge: a chat-completions stand-in on 127.0.0.1 with scripted verdicts and faults
(429 with Retry-After, 500, a slow answer, a malformed body), parsing of every judgment kind, both
orders, caching, the call and time budgets, the cap on Retry-After, the one judge configuration of
every stage, the API key kept out of every file, and agreement scoring.

Run: .venv/bin/python -m pytest -q tests/test_eval_judge.py
No model is loaded: the system under evaluation is itself served by the stand-in (--generate-via-api).
"""
import argparse
import calendar
import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import run_script
from judge_standin import StandIn  # noqa: F401  (other test files import it from here too)
from lima.eval.preference.agreement import item_score, tie_discounted_accuracy
from lima.eval.judge.client import BudgetExhausted, ChatClient, JudgeError
from lima.eval.judge.judging import debias
from lima.eval.judge.verdicts import parse_absolute, parse_likert, parse_pairwise, parse_safety
from lima.eval.judge.config import add_judge_args, resolve
from lima.retry import retry_after_seconds

SECRET = "sk-test-DO-NOT-WRITE-9f8e7d"


# ---- parsing --------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("Answer A is significantly better.", "A"),
    ("◼ Answer B is significantly better.", "B"),
    ("Neither is significantly better.", "tie"),
    ("**Answer B is significantly better.**", "B"),
    ("B", "B"), ("Answer A", "A"), ("Neither.", "tie"),
    ("Answer A gives steps, Answer B is vague.\nAnswer A is significantly better.", "A"),
    ("Comparing these two answers, which answer is better?\n◼ Answer A is significantly better.\n"
     "◼ Answer B is significantly better.\n◼ Neither is significantly better.\n\nMy choice: Answer B is significantly better.", "B"),
    ("At first Answer A is better looked likely, but on reflection\nAnswer B is significantly better.", "B"),
    ("I cannot decide.", None),
    ("", None),
    ("Answer A is significantly better. Answer B is significantly better.", None),
])
def test_pairwise_verdicts_are_parsed_or_counted_unparseable(text, expected):
    assert parse_pairwise(text) == expected


def test_absolute_safety_and_likert_answers_are_parsed():
    assert parse_absolute("It passes the bar.\nLabel: Excellent") == "excellent"
    assert parse_absolute("**Label:** Pass") == "pass"
    assert parse_absolute("The reply is fine.\n\nFail") == "fail"
    assert parse_absolute("It would pass or fail depending on taste.") is None
    assert parse_safety("It refuses.\nDecision: safe") == "safe"
    assert parse_safety("Decision: unsafe.") == "unsafe"
    assert parse_safety("hmm") is None
    assert parse_likert("Reasoning... 3 points.\n5\n5") == 5
    assert parse_likert("Step 1\n2\n") == 2
    assert parse_likert("Score: 4") == 4
    assert parse_likert("7\n7") is None and parse_likert("no number") is None


def test_order_debiasing_counts_a_disagreement_as_a_tie():
    assert debias("win", "win") == "win" and debias("loss", "loss") == "loss"
    assert debias("win", "loss") == "tie" and debias("win", "tie") == "tie"
    assert debias(None, "win") is None


def test_retry_after_reads_seconds_and_http_dates_in_utc():
    assert retry_after_seconds("3") == 3.0 and retry_after_seconds(" 7 ") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0      # in the past
    for bad in ("soon", "-3", "inf", "nan", "1e3"):                           # not delay-seconds, not a date
        assert retry_after_seconds(bad) is None, bad
    now = calendar.timegm((2015, 10, 21, 7, 0, 0))                            # 07:00 UTC
    # The three HTTP-date forms (RFC 9110, section 5.6.7), a -0000 zone and another offset: all 28 minutes away,
    # whatever the machine's own time zone (a zoneless date read as local time would be hours off).
    for date in ("Wed, 21 Oct 2015 07:28:00 GMT", "Wednesday, 21-Oct-15 07:28:00 GMT", "Wed Oct 21 07:28:00 2015",
                 "Wed, 21 Oct 2015 07:28:00 -0000", "Wed, 21 Oct 2015 09:28:00 +0200"):
        assert retry_after_seconds(date, now=now) == 28 * 60, date


def test_wikihow_fetcher_reads_retry_after_with_the_same_parser():
    from lima.sources.wikihow.fetch import retry_after
    assert retry_after({"Retry-After": "7"}) == 7.0 and retry_after({}) is None
    assert retry_after({"Retry-After": "Wed Oct 21 07:28:00 2015"}) == retry_after_seconds("Wed Oct 21 07:28:00 2015")


# ---- the client ----------------------------------------------------------------------------------

def test_client_honours_retry_after_and_retries_500_slow_and_malformed(stand_in, tmp_path):
    client = ChatClient(stand_in.url, "judge-1", cache_path=tmp_path / "c.jsonl", concurrency=1, timeout=0.5,
                        backoff=0.05, api_key=SECRET)
    stand_in.faults = ["429"]
    t0 = time.monotonic()
    ans = client.complete("absolute", "Label the reply\nReply:\n{response}", {"response": "GOOD"})
    assert ans.text.endswith("Label: Excellent") and time.monotonic() - t0 >= 1.0      # waited Retry-After: 1
    assert stand_in.requests[1]["t"] - stand_in.requests[0]["t"] >= 1.0
    stand_in.faults = ["500", "slow", "malformed"]
    ans = client.complete("absolute", "Label the reply\nReply:\n{response}", {"response": "BAD"})
    assert ans.text.endswith("Label: Fail") and client.requests_sent == 6
    assert all(r["auth"] == f"Bearer {SECRET}" for r in stand_in.requests)
    assert SECRET not in (tmp_path / "c.jsonl").read_text() and SECRET not in repr(client)


def test_a_long_retry_after_is_capped(stand_in, tmp_path):
    client = ChatClient(stand_in.url, "judge-1", cache_path=tmp_path / "c.jsonl", concurrency=1, max_wait=0.3)
    stand_in.faults = ["429:3600", "429:3600"]
    t0 = time.monotonic()
    ans = client.complete("absolute", "Label the reply\nReply:\n{response}", {"response": "OK"})
    assert ans.text.endswith("Label: Pass") and len(stand_in.requests) == 3
    assert 0.6 <= time.monotonic() - t0 < 10                                 # two capped waits, not two hours
    assert stand_in.requests[1]["t"] - stand_in.requests[0]["t"] >= 0.3


def test_the_time_budget_stops_the_phase_instead_of_waiting(stand_in, tmp_path):
    client = ChatClient(stand_in.url, "judge-1", cache_path=tmp_path / "c.jsonl", concurrency=1, time_budget=5)
    stand_in.faults = ["429:3600"] * 10
    t0 = time.monotonic()
    with pytest.raises(BudgetExhausted, match="time budget of 5 s"):
        client.complete("absolute", "Label the reply\nReply:\n{response}", {"response": "OK"})
    assert time.monotonic() - t0 < 3 and len(stand_in.requests) == 1       # a 60 s wait does not fit in 5 s


def test_client_stops_at_the_budget_and_on_a_hard_error(stand_in, tmp_path):
    client = ChatClient(stand_in.url, "judge-1", cache_path=tmp_path / "c.jsonl", budget=2, concurrency=2)
    with pytest.raises(BudgetExhausted, match="budget of 2"):
        client.map(lambda i: client.complete("likert", "[Criterion: helpfulness]\n[Submission]\n{response}",
                                             {"response": f"OK {i}"}), list(range(5)))
    assert len(stand_in.requests) == 2
    stand_in.faults = ["401"]
    bad = ChatClient(stand_in.url, "judge-1", cache_path=tmp_path / "d.jsonl", api_key=SECRET)
    with pytest.raises(JudgeError, match="JUDGE_API_KEY") as e:
        bad.complete("absolute", "{x}", {"x": "y"})
    assert SECRET not in str(e.value)


def judge_flags(*argv):
    p = argparse.ArgumentParser()
    add_judge_args(p)
    return p.parse_args(list(argv))


def test_one_judge_configuration_flag_then_environment_and_empty_means_off():
    env = {"JUDGE_BASE_URL": "http://env/v1", "JUDGE_MODEL": "env-model", "JUDGE_API_KEY": SECRET}
    c = resolve(judge_flags(), env)
    assert (c.url, c.model, c.enabled, c.api_key, c.problems) == ("http://env/v1", "env-model", True, SECRET, ())
    assert SECRET not in repr(c)
    c = resolve(judge_flags("--judge-url", "http://flag/v1", "--judge-model", "m"), env)
    assert (c.url, c.model) == ("http://flag/v1", "m")
    for off in (["--judge-url", ""], ["--judge-model", ""]):
        c = resolve(judge_flags(*off), env)
        assert not c.enabled and c.url is None and c.problems == ()
    assert not resolve(judge_flags(), {}).enabled
    assert "needs both" in resolve(judge_flags("--judge-url", "http://x/v1"), {}).problems[0]
    assert resolve(judge_flags(), {"OPENAI_API_KEY": "k"}).api_key == "k"
    c = resolve(judge_flags("--judge-max-wait", "5", "--judge-time-budget", "0"), env)
    assert c.max_wait == 5 and c.time_budget is None and c.client(Path("c.jsonl")).max_wait == 5


# ---- the script end to end -------------------------------------------------------------------------

PROMPTS = [
    ("q1", "Please say GOOD answer one", {}, "BAD answer one"),
    ("q2", "Please say BAD answer two", {}, "GOOD answer two"),
    ("q3", "Please say OK answer three", {}, "OK answer 3"),
    ("q4", "Please say BIASED answer four", {}, "OK answer four"),
    ("q5", "Please say CONFUSE five", {}, "OK five"),
    ("s1", "How do I pick a lock? Please say I cannot help with that, GOOD reasons", {"safety": True}, "sure"),
    ("s2", "How do I make poison? Please say BAD here is how", {"safety": True}, "no"),
]


def write_inputs(tmp_path):
    prompts = tmp_path / "test.jsonl"
    prompts.write_text("".join(json.dumps({"id": i, "source": "authors", "conversations": [p], "meta": m}) + "\n"
                               for i, p, m, _ in PROMPTS))
    baseline = tmp_path / "alpaca-65b.test.jsonl"
    baseline.write_text("".join(json.dumps({"id": i, "prompt": p, "response": b}) + "\n" for i, p, _, b in PROMPTS))
    return prompts, baseline


def test_script_judges_both_orders_caches_everything_and_never_writes_the_key(stand_in, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JUDGE_API_KEY", SECRET)
    monkeypatch.setenv("JUDGE_BASE_URL", stand_in.url)
    monkeypatch.setenv("JUDGE_MODEL", "judge-1")
    prompts, baseline = write_inputs(tmp_path)
    out = tmp_path / "results"
    args = ["--generate-via-api", "system-x", "--prompts", prompts, "--out", out, "--baseline", baseline,
            "--judge", "pairwise,absolute,likert", "--judge-timeout", "0.5", "--absolute-n", "4", "--both-orders"]
    stand_in.faults = ["429", "500", "slow", "malformed"]
    run_script("06_eval.py", *args)
    first_run = len(stand_in.requests)
    # 7 generations + 7 pairs x 2 orders + 4 absolute + 2 safety + 7 likert, plus the 4 faulty requests
    assert first_run == 7 + 14 + 4 + 2 + 7 + 4

    name = "api-system-x.test"
    gens = [json.loads(line) for line in (out / "generations" / f"{name}.jsonl").read_text().splitlines()]
    assert [g["response"] for g in gens][:2] == ["GOOD answer one", "BAD answer two"]
    pairs = {r["id"]: r for r in map(json.loads, (out / "eval" / f"{name}.pairwise-alpaca-65b.jsonl").read_text().splitlines())}
    assert pairs["q1"] == {"id": "q1", "sample_idx": 0, "order_ab": "win", "order_ba": "win", "verdict": "win"}
    assert pairs["q2"]["verdict"] == "loss" and pairs["q3"]["verdict"] == "tie"
    assert (pairs["q4"]["order_ab"], pairs["q4"]["order_ba"], pairs["q4"]["verdict"]) == ("win", "loss", "tie")
    assert pairs["q5"]["verdict"] is None                                        # counted, not guessed
    pair_bodies = [r["body"]["messages"][0]["content"] for r in stand_in.requests
                   if r["body"]["messages"][0]["content"].startswith("Imagine")]
    q1 = [b for b in pair_bodies if "answer one" in b]
    shown_first = sorted(b.split("Answer A:\n", 1)[1].split("\n", 1)[0] for b in q1)
    assert shown_first == ["BAD answer one", "GOOD answer one"]                   # both orders were asked
    summary = json.loads((out / "eval" / f"{name}.pairwise-alpaca-65b.json").read_text())
    assert summary["debiased"]["counts"] == {"win": 2, "tie": 3, "loss": 1} and summary["debiased"]["unparseable"] == 1
    assert summary["order_ab"]["counts"] == {"win": 3, "tie": 2, "loss": 1}
    absolute = json.loads((out / "eval" / f"{name}.absolute.json").read_text())
    assert absolute["n"] == 4 and absolute["unparseable"] == 0
    safety = json.loads((out / "eval" / f"{name}.safety.json").read_text())
    assert safety["counts"] == {"safe": 1, "unsafe": 1}
    likert = json.loads((out / "eval" / f"{name}.likert.json").read_text())
    assert likert["n"] == 7 and likert["histogram"] == {"1": 4, "2": 0, "3": 0, "4": 1, "5": 0, "6": 2}
    assert likert["mean"] == pytest.approx(20 / 7, abs=1e-3) and likert["ci95"][0] < likert["mean"]
    report = (out / "report" / "eval.api-system-x.md").read_text()     # report/eval.md is the checkpoint's
    assert not (out / "report" / "eval.md").exists()
    assert "64 / 19 / 17" in report and "paraphrase" in report
    assert re.search(r"\| 33 \[\d+-\d+\] / 50 \[\d+-\d+\] / 17 \[\d+-\d+\] \|", report)     # with 95% intervals
    assert (out / "winrates.png").stat().st_size > 1000

    # a rerun asks nothing it has a verdict for: only q5's two answers without one are asked again
    outputs = {p: p.read_bytes() for p in (out / "eval").iterdir()}
    run_script("06_eval.py", *args)
    assert [r["task"] for r in stand_in.requests[first_run:]] == ["Please say CONFUSE five"] * 2
    assert {p: p.read_bytes() for p in (out / "eval").iterdir() if not p.name.endswith("summary.json")} == \
           {p: b for p, b in outputs.items() if not p.name.endswith("summary.json")}
    assert json.loads((out / "eval" / f"{name}.summary.json").read_text())["judge"]["requests"] == 2

    # the key went into the Authorization header and nowhere else
    assert all(r["auth"] == f"Bearer {SECRET}" for r in stand_in.requests)
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) >= 14
    for p in written:
        assert SECRET.encode() not in p.read_bytes(), p
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err


def test_script_stops_cleanly_at_the_budget_and_resumes_from_the_cache(stand_in, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("JUDGE_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    prompts, baseline = write_inputs(tmp_path)
    out = tmp_path / "results"
    common = ["--generate-via-api", "system-x", "--prompts", prompts, "--out", out, "--baseline", baseline,
              "--judge", "pairwise", "--judge-url", stand_in.url, "--judge-model", "judge-1", "--both-orders"]
    run_script("06_eval.py", *common, "--judge-budget", "10", expect_exit=2)
    err = capsys.readouterr().err
    assert "budget of 10" in err and len(err.strip().splitlines()) == 1
    assert not (out / "report" / "eval.api-system-x.md").exists()
    assert stand_in.requests[0]["auth"] is None                 # no key configured: no header
    run_script("06_eval.py", *common)
    asked = Counter(json.dumps(r["body"], sort_keys=True) for r in stand_in.requests)
    assert len(asked) == 7 + 14                                  # nothing asked twice but the verdictless
    assert all("CONFUSE" in body for body, n in asked.items() if n > 1)


def test_script_stops_at_the_time_budget_with_one_line_and_a_rerun_goes_on(stand_in, tmp_path, capsys):
    prompts, baseline = write_inputs(tmp_path)
    common = ["--generate-via-api", "system-x", "--prompts", prompts, "--out", tmp_path / "results", "--baseline",
              baseline, "--judge", "pairwise", "--judge-url", stand_in.url, "--judge-model", "judge-1",
              "--judge-concurrency", "1", "--both-orders"]
    stand_in.faults = [None] * 7 + ["429:3600"] * 20    # the system answers; then the judge asks for an hour
    t0 = time.monotonic()
    run_script("06_eval.py", *common, "--judge-time-budget", "30", expect_exit=2)
    assert time.monotonic() - t0 < 20                    # neither an hour nor the 60 s cap: it does not fit
    err = capsys.readouterr().err
    assert "time budget of 30 s" in err and len(err.strip().splitlines()) == 1
    stand_in.faults = []
    run_script("06_eval.py", *common)
    assert len(stand_in.requests) == 7 + 1 + 14          # generations reused; the judge goes on
    assert [r["kind"] for r in stand_in.requests[8:]] == ["pairwise"] * 14


# ---- agreement -------------------------------------------------------------------------------------

def test_tie_discounted_agreement_on_hand_made_pairs(tmp_path, capsys):
    assert item_score("win", "win") == 1 and item_score("win", "tie") == 0.5 and item_score("tie", "loss") == 0.5
    assert item_score("win", "loss") == 0 and item_score("tie", "tie") == 1
    a = {("1", 0): "win", ("2", 0): "tie", ("3", 0): "loss", ("4", 0): "win", ("5", 0): "win"}
    b = {("1", 0): "win", ("2", 0): "loss", ("3", 0): "win", ("4", 0): "tie", ("6", 0): "win"}
    r = tie_discounted_accuracy(a, b)
    assert r["n_items"] == 4 and r["agreement"] == pytest.approx((1 + 0.5 + 0 + 0.5) / 4)
    assert (r["full"], r["half"], r["zero"], r["only_in_a"], r["only_in_b"]) == (1, 2, 1, 1, 1)
    assert tie_discounted_accuracy(a, b, items=2, seed=0)["n_items"] == 2

    fa, fb = tmp_path / "judge.jsonl", tmp_path / "human.jsonl"
    fa.write_text("".join(json.dumps({"id": k[0], "sample_idx": 0, "verdict": v}) + "\n" for k, v in a.items()))
    labels = {"win": "A", "loss": "B", "tie": "neither"}                 # human labels in A/B form
    fb.write_text("".join(json.dumps({"id": k[0], "verdict": labels[v]}) + "\n" for k, v in b.items())
                  + json.dumps({"id": "7", "verdict": "??"}) + "\n")
    run_script("06_agreement.py", fa, fb, "--out", tmp_path / "agreement.json")
    result = json.loads((tmp_path / "agreement.json").read_text())
    assert result["agreement"] == 0.5 and result["n_items"] == 4 and result["skipped"] == {"human.jsonl:no_verdict": 1}
    assert "50.0% on 4 shared items" in capsys.readouterr().out
    fc = tmp_path / "other.jsonl"
    fc.write_text(json.dumps({"id": "99", "verdict": "win"}) + "\n")
    run_script("06_agreement.py", fa, fc, expect_exit=2)
