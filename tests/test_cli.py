"""lima.cli: the progress bar helper every stage uses.

Run: .venv/bin/python -m pytest -q tests/test_cli.py
"""
import io

from lima.cli import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_hidden_bar_passes_items_through_and_counts_like_tqdm():
    bar = progress(range(4), total=4, file=io.StringIO())
    assert list(bar) == [0, 1, 2, 3]
    with progress(total=10, initial=3, disable=None, file=io.StringIO()) as bar:
        bar.update(2)
        bar.set_postfix(loss="0.1")
    assert bar.n == 5 and type(bar).__name__ == "_HiddenBar"


def test_a_bar_on_a_terminal_is_drawn():
    out = Terminal()
    with progress(total=2, desc="steps", file=out) as bar:
        bar.update(2)
    assert bar.n == 2 and "steps" in out.getvalue() and "2/2" in out.getvalue()
    assert type(progress(total=1, file=io.StringIO(), disable=False)).__name__ == "tqdm"
