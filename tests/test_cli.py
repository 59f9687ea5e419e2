"""lima.progress and lima.cli: the progress bar every stage uses, and the one-line error.

Run: .venv/bin/python -m pytest -q tests/test_cli.py
"""
import io
import sys

from lima.cli import run_main
from lima.errors import StageError
from lima.progress import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_bar_off_a_terminal_passes_items_through_and_draws_nothing(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())       # CI: stderr is a file or a pipe
    bar = progress(range(4), total=4)
    assert list(bar) == [0, 1, 2, 3]
    with progress(total=10, initial=3) as bar:
        bar.update(2)
        bar.set_postfix(loss="0.1")
    assert sys.stderr.getvalue() == ""


def test_a_bar_on_a_terminal_is_drawn_on_stderr_never_on_stdout(monkeypatch):
    """stdout carries a stage's one-line result (and may be piped): the bar goes to stderr."""
    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.setattr(sys, "stdout", Terminal())
    with progress(total=2, desc="steps") as bar:
        bar.update(2)
    assert "steps" in sys.stderr.getvalue() and sys.stdout.getvalue() == ""


def test_a_stage_error_is_one_line_and_exit_2(capsys):
    def main(argv):
        raise StageError("data/x.jsonl", "no such file")
    assert run_main(main) == 2
    assert capsys.readouterr().err == "error: data/x.jsonl: no such file\n"
