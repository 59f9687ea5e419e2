"""Which project source files a script runs: the closure of its imports, read from the code.

Make's prerequisites (a generated `.deps/scripts.mk`, the way compilers emit dependency files) and
the training fingerprint both come from here, so editing any module a stage imports, directly or
not, reruns that stage; no list is written by hand. Standard library only: Make runs it before the
virtual environment exists.
"""
from __future__ import annotations

import ast
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]


def _module_file(name: str, root: Path) -> Path | None:
    """`lima.train.loss` -> scripts/lima/train/loss.py (or its package's __init__.py)."""
    base = root.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imported_names(path: Path) -> set[str]:
    """Every module name an import statement in the file may load, at any depth of the code
    (imports inside functions count: they run too)."""
    names: set[str] = set()
    package = ".".join(path.relative_to(SCRIPTS).with_suffix("").parts[:-1]) if path.is_relative_to(SCRIPTS) else ""
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:                      # relative: from . import x / from .m import y
                parts = package.split(".") if package else []
                parts = parts[:len(parts) - node.level + 1]
                mod = ".".join(parts + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names)   # `from lima.x import module`
    return names


def project_sources(script: str | Path, root: Path = SCRIPTS) -> list[Path]:
    """The script and every project file its imports reach, with the packages' __init__ files
    (importing lima.a.b runs lima/__init__.py and lima/a/__init__.py), sorted."""
    script = Path(script).resolve()
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported_names(path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):          # every enclosing package runs its __init__
                f = _module_file(".".join(parts[:i]), root)
                if f is not None and f not in seen:
                    todo.append(f)
    return sorted(seen)
