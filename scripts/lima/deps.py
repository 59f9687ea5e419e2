"""Which project source files a script runs: the closure of its imports, read from the code.

Make's prerequisites (a generated `.deps/scripts.mk`, the way compilers emit dependency files) and
the training fingerprint both come from here, so editing any module a stage imports, directly or
not, reruns that stage; no list is written by hand. Standard library only: Make runs it with the
system Python, before the virtual environment exists.

The closure over-approximates on purpose: every import statement counts, at any depth (inside a
function, under `if TYPE_CHECKING`, in a `try`), because a missed module means a stale result while
an extra one only costs a rerun. Imports spelled as strings (`importlib.import_module(...)`) are not
seen; the project has none.
"""
from __future__ import annotations

import ast
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]


def _module_file(name: str, root: Path) -> Path | None:
    """`lima.train.loss` -> <root>/lima/train/loss.py (or the package's __init__.py); None when the
    name is not a project module (the standard library, a third-party package, a function)."""
    if not name:
        return None
    base = root.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _package(path: Path, root: Path) -> list[str]:
    """The package a file belongs to, as the name parts a relative import starts from: lima/eval/judge/judging.py
    and lima/eval/__init__.py are both in lima.eval; a numbered script is in no package."""
    try:
        return list(path.relative_to(root).parts[:-1])
    except ValueError:
        return []


def _imported_names(path: Path, root: Path) -> set[str]:
    """Every module name an import statement in the file may load, at any depth of the code
    (imports inside functions count: they run too). A file that does not parse yields none: it is
    still a prerequisite, and once it parses again it is newer than what was derived from it."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:                      # relative: from . import x / from ..m import y
                parts = _package(path, root)
                if node.level > len(parts):
                    continue                    # outside any package: Python refuses it too
                parts = parts[:len(parts) - (node.level - 1)]
                mod = ".".join(parts + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod:
                names.add(mod)
            # `from lima.x import module` loads lima/x/module.py; a function's name finds no file
            names.update(f"{mod}.{a.name}" if mod else a.name for a in node.names if a.name != "*")
    return names


def project_sources(script: str | Path, root: Path = SCRIPTS) -> list[Path]:
    """The script and every project file its imports reach, with the packages' __init__ files
    (importing lima.a.b runs lima/__init__.py and lima/a/__init__.py), sorted. `root` is the folder
    on sys.path the imports resolve against (scripts/)."""
    script = Path(script).resolve()
    root = Path(root).resolve()
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported_names(path, root):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):          # every enclosing package runs its __init__
                f = _module_file(".".join(parts[:i]), root)
                if f is not None and f not in seen:
                    todo.append(f)
    return sorted(seen)
