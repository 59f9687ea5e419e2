"""lima.progress and lima.cli: the progress bar every stage uses, and the one-line error.

Run: .venv/bin/python -m pytest -q tests/test_cli.py
"""
import errno
import io
import os
import sys

import pytest

from conftest import run_script
from lima.cli import run_main
from lima.errors import StageError
from lima.io import append_jsonl
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


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_in_a_stage_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    """A full disk used to end every stage with a raw OSError traceback and exit 1."""
    from test_wikihow_crawl import SAMPLE, SAMPLE_CATEGORIES
    monkeypatch.setattr(os, "fsync", _no_space)           # the first output's flush to disk fails
    run_script("02_wikihow.py", "--cache", SAMPLE, "--offline", "--quota", 12, "--categories", SAMPLE_CATEGORIES,
               "--out", tmp_path / "wikihow.jsonl", "--pool-out", tmp_path / "pools" / "wikihow.jsonl", expect_exit=2)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and ": cannot write: No space left on device; free" in err[0]
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []             # no temporaries left behind


def test_a_full_disk_anywhere_else_is_one_line_too_and_other_os_errors_are_not_hidden(tmp_path, monkeypatch, capsys):
    def main(argv):
        _no_space()
    assert run_main(main) == 2
    assert capsys.readouterr().err == ("error: an output: No space left on device; free some space and rerun "
                                       "(nothing half-written is kept)\n")
    monkeypatch.setattr(os, "write", _no_space)
    with pytest.raises(StageError, match="log.jsonl: cannot append: No space left on device"):
        append_jsonl(tmp_path / "log.jsonl", {"a": 1})

    def other(argv):
        raise OSError(errno.EIO, "Input/output error")
    with pytest.raises(OSError, match="Input/output"):
        run_main(other)
