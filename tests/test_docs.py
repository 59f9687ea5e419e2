"""The docs stay true to the tree. Every `docs/<page>.md#anchor` cited in code, tests, help texts, the
Makefile, the README and docs/ names a real heading (GitHub's anchors), and every relative link in the
Markdown files reaches a file. The README's layout and pipeline table, and design.md's module table,
name exactly the scripts and modules that exist, so a split or a rename that forgets the docs fails here
with the names to add or remove.

Run: .venv/bin/python -m pytest -q tests/test_docs.py
"""
import fnmatch
import re
from collections import defaultdict
from pathlib import Path

from markdown_it import MarkdownIt

from conftest import ROOT

MD = MarkdownIt("commonmark").enable("table")
# Plain-text citations, read from the repository root: `docs/design.md#data-contract`, `README.md#layout`.
CITATION = re.compile(r"(?<![\w/.-])(docs/[\w-]+\.md|README\.md)(?:#([\w-]+))?")
# Files whose text may cite a page: code, help texts, tests, Make, CI, the Markdown pages.
CODE_SUFFIXES = {".py", ".mk", ".js", ".html", ".md", ".txt", ".ini"}
CODE_DIRS = ("scripts", "tests", "docs", ".ci")
ROOT_FILES = ("README.md", "Makefile", "pytest.ini", "requirements.txt", "requirements-test.txt", ".ci/run")
# A name listed in a layout: `train.py`, `NN_*.py` (NN: two digits), `paper.mk`, `data.md`; a name right
# after `/` is a path, not a listed name.
LISTED = re.compile(r"(?<![\w/.*-])([\w*-]+\.(?:py|mk|md))\b")
# What each listed folder holds and the layout must name: modules and scripts, profiles, doc pages.
LAYOUT_KINDS = {"scripts/": (".py", ".mk"), "docs/": (".md",)}


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def heading_text(inline) -> str:
    """A heading as rendered, the text an anchor is made from (code spans keep their content)."""
    return "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline"))


def anchors(markdown: str) -> set[str]:
    """Every heading anchor of a page; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = defaultdict(int)
    out = set()
    tokens = MD.parse(markdown)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            base = slug(heading_text(tokens[i + 1]))
            out.add(base if not seen[base] else f"{base}-{seen[base]}")
            seen[base] += 1
    return out


def cited_files(root: Path) -> list[Path]:
    """The files whose citations are checked; this file is left out, its examples cite on purpose."""
    files = [root / f for f in ROOT_FILES if (root / f).is_file()]
    for d in CODE_DIRS:
        files += [p for p in sorted((root / d).rglob("*")) if p.is_file() and p.suffix in CODE_SUFFIXES
                  and "__pycache__" not in p.parts and p != Path(__file__).resolve()]
    files += sorted((root / "data").rglob("README.md")) if (root / "data").is_dir() else []
    return files


def markdown_links(path: Path):
    """(line, href) of every link and image in a Markdown file."""
    for tok in MD.parse(path.read_text(encoding="utf-8")):
        for child in tok.children or []:
            href = child.attrs.get("href") or child.attrs.get("src")
            if child.type in ("link_open", "image") and href:
                yield (tok.map[0] + 1 if tok.map else 0), href


def broken_citations(root: Path) -> tuple[list[str], int]:
    """Citations of pages or anchors that do not resolve, as 'file:line: why', and how many were checked."""
    page_anchors: dict[Path, set[str]] = {}

    def resolve(page: Path, anchor: str | None) -> str | None:
        if not page.exists():
            return f"{page.relative_to(root)} does not exist"
        if anchor and page.suffix == ".md":
            if page not in page_anchors:
                page_anchors[page] = anchors(page.read_text(encoding="utf-8"))
            if anchor not in page_anchors[page]:
                return f"no heading with anchor #{anchor} in {page.relative_to(root)}"
        return None

    problems, checked = [], set()
    for f in cited_files(root):
        text = f.read_text(encoding="utf-8", errors="replace")
        rel = f.relative_to(root)
        for n, line in enumerate(text.splitlines(), 1):
            if f.suffix == ".md":       # a link's target is read below, relative to its page
                line = re.sub(r"\]\([^)]*\)", "]", line)
            for m in CITATION.finditer(line):
                checked.add((rel, n, m.group(0)))
                why = resolve(root / m.group(1), m.group(2))
                if why:
                    problems.append(f"{rel}:{n}: cites {m.group(0)}: {why}")
        if f.suffix != ".md":
            continue
        for n, href in markdown_links(f):
            if re.match(r"^[a-z][a-z0-9+.-]*:", href):      # http:, https:, mailto:
                continue
            target, _, anchor = href.partition("#")
            checked.add((rel, n, href))
            why = resolve((f.parent / target).resolve() if target else f, anchor or None)
            if why:
                problems.append(f"{rel}:{n}: links to {href}: {why}")
    return problems, len(checked)


def test_slug_follows_githubs_rules():
    assert slug("The judge's order (§4.1)") == "the-judges-order-41"
    assert slug("Sites, categories and renames") == "sites-categories-and-renames"
    assert slug("Stage 01: Stack Exchange (§2.1)") == "stage-01-stack-exchange-21"
    assert anchors("# A\n\n```sh\n# not a heading\n```\n\n## `make plan` first\n\n## A\n") == \
        {"a", "a-1", "make-plan-first"}


def test_every_cited_anchor_resolves():
    problems, checked = broken_citations(ROOT)
    assert checked >= 80, f"only {checked} citations found: is the scan reading the files?"
    assert not problems, "broken doc citations:\n" + "\n".join(problems)


def test_a_broken_citation_is_reported(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# Page\n\n## Chat format and EOT\n\n[up](../README.md#nope)\n")
    (tmp_path / "README.md").write_text("# R\n\nSee [ok](docs/page.md#chat-format-and-eot), "
                                        "[gone](docs/gone.md).\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "x.py").write_text('"""See docs/page.md#chat-format."""\n')
    problems, checked = broken_citations(tmp_path)
    assert checked == 4
    assert sorted(problems) == [
        "README.md:3: links to docs/gone.md: docs/gone.md does not exist",
        "docs/page.md:5: links to ../README.md#nope: no heading with anchor #nope in README.md",
        "scripts/x.py:1: cites docs/page.md#chat-format: no heading with anchor #chat-format in docs/page.md"]


def section(markdown: str, title: str) -> list:
    """The tokens under the level-2 heading `title`, up to the next level-2 heading."""
    tokens = MD.parse(markdown)
    out, inside = [], False
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == "h2":
            inside = heading_text(tokens[i + 1]) == title
        elif inside:
            out.append(tok)
    return out


def layout_names(tree: str) -> dict[str, set[str]]:
    """Folder -> the names a layout tree lists in it. Children are indented two spaces more than their
    folder's line; a line indented further continues the line above it. The names on a folder's line are
    in that folder, those on a file's line are beside it."""
    names: dict[str, set[str]] = defaultdict(set)
    stack: list[tuple[int, str]] = []
    folder, last_indent = "", None
    for line in tree.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        if last_indent is None or indent <= last_indent + 2:
            entry = line.split()[0]
            while stack and stack[-1][0] >= indent:
                stack.pop()
            folder = stack[-1][1] if stack else ""
            if entry.endswith("/"):
                folder += entry
                stack.append((indent, folder))
            last_indent = indent
        names[folder].update(LISTED.findall(line))
    return names


def layout_mismatch(root: Path, listed: dict[str, set[str]], under: dict[str, tuple[str, ...]]):
    """(missing, extra): files under each folder of `under` that no listed name matches, and listed
    names that match no file there."""
    def matches(name, pat):
        return fnmatch.fnmatchcase(name, pat.replace("NN", "[0-9][0-9]"))

    missing, extra = [], []
    for top, suffixes in under.items():
        present = defaultdict(set)
        for p in sorted((root / top).rglob("*")):
            if p.is_file() and p.suffix in suffixes and p.name != "__init__.py" and "__pycache__" not in p.parts:
                present[p.parent.relative_to(root).as_posix() + "/"].add(p.name)
        for folder in sorted(set(present) | {f for f in listed if f.startswith(top)}):
            for name in sorted(present[folder]):
                if not any(matches(name, pat) for pat in listed.get(folder, ())):
                    missing.append(folder + name)
            for pat in sorted(p for p in listed.get(folder, ()) if p.endswith(suffixes)):
                if not any(matches(name, pat) for name in present[folder]):
                    extra.append(folder + pat)
    return missing, extra


def readme_tree(root: Path) -> str:
    fences = [t for t in section((root / "README.md").read_text(encoding="utf-8"), "Layout") if t.type == "fence"]
    assert fences, "README.md has no code block under '## Layout'"
    return fences[0].content


def test_readme_layout_names_every_script_module_and_page():
    missing, extra = layout_mismatch(ROOT, layout_names(readme_tree(ROOT)), LAYOUT_KINDS)
    assert not missing and not extra, (
        "README.md's layout tree is out of date with the files.\n"
        f"Not in the tree (add each name on its folder's line): {', '.join(missing) or 'none'}\n"
        f"In the tree but no such file (remove or move it): {', '.join(extra) or 'none'}")


def test_layout_mismatch_names_what_is_missing_and_extra(tmp_path):
    for f in ("scripts/01_a.py", "scripts/lima/__init__.py", "scripts/lima/io.py", "scripts/lima/x/new.py",
              "scripts/lima/x/old.py", "scripts/profiles/p.mk", "docs/a.md"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("")
    tree = ("Makefile        every stage (see docs/a.md, REPORT.md)\n"
            "scripts/\n"
            "  NN_*.py       thin scripts\n"
            "  profiles/     p.mk\n"
            "  lima/         io.py gone.py\n"
            "    x/          old.py and a long description that goes on\n"
            "                to a second line: split.py (writes .deps/s.py)\n"
            "docs/           a.md\n")
    names = layout_names(tree)
    assert names["scripts/lima/x/"] == {"old.py", "split.py"}
    missing, extra = layout_mismatch(tmp_path, names, LAYOUT_KINDS)
    assert missing == ["scripts/lima/x/new.py"]
    assert extra == ["scripts/lima/gone.py", "scripts/lima/x/split.py"]


def table_rows(tokens) -> list[list[str]]:
    """The body rows of the first table among `tokens`, as the cells' source text."""
    rows, row, in_body = [], None, False
    for tok in tokens:
        if tok.type == "tbody_open":
            in_body = True
        elif tok.type == "tbody_close":
            break
        elif in_body and tok.type == "tr_open":
            row = []
        elif in_body and tok.type == "inline" and row is not None:
            row.append(tok.content)
        elif in_body and tok.type == "tr_close":
            rows.append(row)
    return rows


def module_table_names(design: str) -> dict[str, set[str]]:
    """Folder -> the modules design.md's table of `scripts/lima/` names: a row per module
    (`errors.py`, `sources/superni.py`) or per folder (`train/`, its modules named in the second cell)."""
    tokens = MD.parse(design)
    start = next(i for i, t in enumerate(tokens) if t.type == "inline" and t.content == "The package `scripts/lima/`:")
    names: dict[str, set[str]] = defaultdict(set)
    for first, concern, *_ in table_rows(tokens[start:]):
        entry = first.strip("`")
        if entry.endswith("/"):
            names["scripts/lima/" + entry].update(LISTED.findall(concern))
        else:
            folder, _, name = entry.rpartition("/")
            names["scripts/lima/" + (folder + "/" if folder else "")].add(name)
    return names


def test_design_module_table_names_every_module():
    names = module_table_names((ROOT / "docs" / "design.md").read_text(encoding="utf-8"))
    missing, extra = layout_mismatch(ROOT, names, {"scripts/lima/": (".py",)})
    assert not missing and not extra, (
        "docs/design.md's table of scripts/lima/ is out of date with the files.\n"
        f"No row names (add it to its folder's row, with its job): {', '.join(missing) or 'none'}\n"
        f"Named but no such file: {', '.join(extra) or 'none'}")


def test_readme_pipeline_table_names_real_scripts_and_modules():
    """Every numbered script has a row, and each script and module a row names exists."""
    rows = table_rows(section((ROOT / "README.md").read_text(encoding="utf-8"), "The pipeline, by paper section"))
    assert len(rows) >= 14, f"the pipeline table has {len(rows)} rows"
    named = {n for r in rows for n in re.findall(r"`(\d\d_\w+\.py)`", r[2])}
    scripts = {p.name for p in (ROOT / "scripts").glob("[0-9][0-9]_*.py")}
    modules = {m for r in rows for m in re.findall(r"`([\w/]+(?:\.py|/))`", r[3])}
    gone = sorted(f"scripts/{n}" for n in named - scripts) + \
        sorted(f"scripts/lima/{m}" for m in modules if not (ROOT / "scripts" / "lima" / m).exists())
    assert not gone and named == scripts, (
        "README.md's pipeline table is out of date.\n"
        f"Scripts with no row: {', '.join(sorted(scripts - named)) or 'none'}\n"
        f"Named but no such file or folder: {', '.join(gone) or 'none'}")
