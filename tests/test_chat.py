"""`make chat`: the session (prompt with history, streaming, token limit, /save as a test-prompt row,
a base model by plain continuation) and the script in a real terminal under tmux.

Run: .venv/bin/python -m pytest -q tests/test_chat.py
The toy export is the session-scoped `ckpt` fixture of conftest.py (a few seconds to train).
"""
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
import torch

from conftest import ROOT
from lima.chat import prompt_ids
from lima.dataset.contract import check_row
from lima.eval.generation.chat import ChatSession, run_chat
from lima.eval.generation.generate import Decoding, load_checkpoint


@pytest.fixture(scope="module")
def export(ckpt):
    return ckpt / "run" / "epoch_03"


def session_for(folder, **decoding):
    model, tok = load_checkpoint(folder, torch.device("cpu"))
    return ChatSession(model, tok, source=folder, decoding=Decoding(**{"max_new_tokens": 16, **decoding}))


def scripted(lines):
    """An input() stand-in that types `lines`, then Ctrl-D."""
    it = iter(lines)

    def read(_prompt):
        try:
            return next(it)
        except StopIteration:
            raise EOFError from None
    return read


def test_second_turn_sees_the_first_and_the_stream_is_the_reply(export):
    s = session_for(export)
    streamed = []
    first = s.reply("Is 12 even?", write=streamed.append)
    assert "".join(streamed) == first.text and first.n_new_tokens > 0
    second = s.reply("Is 7 even?")
    assert second.prompt_ids == prompt_ids(s.tok, ["Is 12 even?", first.text, "Is 7 even?"])
    s.reset()
    assert s.reply("Is 7 even?").prompt_ids == prompt_ids(s.tok, ["Is 7 even?"])


def test_token_limit_is_said_and_save_writes_a_test_prompt_row(export, tmp_path):
    s = session_for(export, max_new_tokens=1)
    out = tmp_path / "out.txt"
    with out.open("w") as f:
        run_chat(s, read=scripted(["Is 12 even?", "Is 3 even?", f"/save {tmp_path / 'row.jsonl'}", "/params",
                                   "/quit", "never read"]), out=f)
    text = out.read_text()
    assert text.count("[cut at the token limit: 1 new tokens, no end of turn]") == 2
    assert "repetition penalty 1.2 on generated tokens only" in text and "top-p 0.9" in text
    row = json.loads((tmp_path / "row.jsonl").read_text())
    check_row(row, training=False)
    assert row["conversations"][0] == "Is 12 even?" and row["conversations"][2] == "Is 3 even?"
    assert len(row["conversations"]) == 3 and row["meta"]["chat"]["last_response"] == s.history[-1]


def test_base_model_says_it_has_no_template_and_continues_plain_text(ckpt, tmp_path):
    s = session_for(ckpt / "base", max_new_tokens=3)
    assert not s.templated
    out = tmp_path / "out.txt"
    with out.open("w") as f:
        run_chat(s, read=scripted(["The number 4", "is"]), out=f)
    assert out.read_text().splitlines()[0].endswith("has no chat template: plain continuation of what you type, no turns")
    second = s.tok.decode(s.build_prompt("again"), skip_special_tokens=True)
    assert second.startswith("The number 4\n") and second.endswith("\nis\n" + s.history[-1] + "\nagain")


def test_missing_export_is_one_line(tmp_path, capsys):
    from conftest import run_script
    run_script("11_chat.py", "--checkpoint", tmp_path / "nothing", expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no config.json" in err[0]


# ---- the script in a real terminal -------------------------------------------------------------

def wait_for(tmux, pane_text_has, count=1, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = subprocess.run(tmux + ["capture-pane", "-p", "-J", "-S", "-200"], capture_output=True, text=True).stdout
        if screen.count(pane_text_has) >= count:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"never saw {pane_text_has!r} x{count} in the terminal:\n{screen}")


@pytest.mark.slow
def test_chat_in_a_terminal_under_tmux(export, tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: the terminal test of `make chat` skips (.ci/run installs it)")
    sock = f"pt-chat-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", sock]
    cmd = (f"cd {ROOT} && OMP_NUM_THREADS=1 {sys.executable} scripts/11_chat.py --checkpoint {export} "
           f"--max-new-tokens 16 --show-prompt; echo CHAT-EXIT=$?; sleep 600")
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    subprocess.run(tmux + ["new-session", "-d", "-x", "200", "-y", "60", cmd], check=True, env=env)
    try:
        wait_for(tmux, "you> ")
        subprocess.run(tmux + ["send-keys", "Is 12 even?", "Enter"], check=True)
        wait_for(tmux, "you> ", 2)
        subprocess.run(tmux + ["send-keys", "Is 7 even?", "Enter"], check=True)
        wait_for(tmux, "you> ", 3)
        row_file = tmp_path / "chat.jsonl"
        subprocess.run(tmux + ["send-keys", f"/save {row_file}", "Enter"], check=True)
        wait_for(tmux, "you> ", 4)
        subprocess.run(tmux + ["send-keys", "C-d"], check=True)
        screen = wait_for(tmux, "CHAT-EXIT=")
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)
    assert "CHAT-EXIT=0" in screen
    prompts = [json.loads(line.split("[prompt] ", 1)[1]) for line in screen.splitlines() if "[prompt] " in line]
    row = json.loads(row_file.read_text())
    first_reply = row["conversations"][1]
    assert prompts[0].endswith("Is 12 even?<|eot|>")
    assert prompts[1].endswith(f"Is 12 even?<|eot|>{first_reply}<|eot|>Is 7 even?<|eot|>")
    assert "you> Is 12 even?" in screen.splitlines()             # typed and echoed by the terminal
    model_lines = [line for line in screen.splitlines() if line.startswith("model> ")]
    assert model_lines[0] == f"model> {first_reply}" and len(model_lines) == 2
