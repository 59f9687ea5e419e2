"""Find the Stack Exchange sites in a dump folder and stream each site's Posts.xml as bytes.

Posts.xml is streamed out of the .7z without extracting it to disk. libarchive (through the
`libarchive-c` binding to the system library) is the default: it hands a member over in small
blocks, so memory does not grow with the archive. py7zr cannot stream (its extraction delivers a
member in one piece), so it is only a fallback for small archives when libarchive is missing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from lima.errors import StageError

log = logging.getLogger("lima.stackexchange")

BLOCK_SIZE = 1 << 20      # 1 MiB reads: fewer parser calls, still constant memory
PY7ZR_LIMIT = 256 << 20   # py7zr holds the whole member in memory: refuse more than this
READERS = ("auto", "libarchive", "py7zr")


class MissingTable(StageError):
    """The dump has no such table (a site dumped without Comments.xml, say)."""


@dataclass(frozen=True)
class SiteSource:
    site: str        # the site's domain, e.g. cooking.stackexchange.com
    path: Path       # a .7z archive or an extracted folder
    kind: str        # "7z" or "folder"


def find_sites(dumps: Path) -> list[SiteSource]:
    """Every site in `dumps`: `<site>.7z` archives (Stack Overflow as `stackoverflow.com-Posts.7z`
    or `stackoverflow.com.7z`) and extracted `<site>/Posts.xml` folders, sorted by site."""
    if not dumps.exists():
        raise StageError(dumps, "no such file or directory")
    if not dumps.is_dir():
        raise StageError(dumps, "not a directory (give the folder that holds the <site>.7z dumps)")
    found: dict[str, SiteSource] = {}
    for p in _listdir(dumps):
        if p.is_file() and p.suffix.lower() == ".7z":
            name = p.name[:-3]
            if "-" in name:                      # Stack Overflow ships one archive per table
                name, table = name.rsplit("-", 1)
                if table.lower() != "posts":
                    continue
            found.setdefault(name.lower(), SiteSource(name.lower(), p, "7z"))
        elif p.is_dir():
            xmls = [c for c in _listdir(p) if c.suffix.lower() == ".xml"]
            if not xmls:
                continue
            if not any(c.name.lower() == "posts.xml" for c in xmls):
                raise StageError(p, "site folder has no Posts.xml")
            if p.name.lower() in found:
                log.info("%s: using the extracted folder, not the archive", p.name)
            found[p.name.lower()] = SiteSource(p.name.lower(), p, "folder")
    if not found:
        raise StageError(dumps, "no Stack Exchange dumps found (expected <site>.7z or <site>/Posts.xml)")
    return [found[k] for k in sorted(found)]


def _listdir(folder: Path) -> list[Path]:
    """The entries of a folder, sorted; an unreadable folder is the user's one-line error."""
    try:
        return sorted(folder.iterdir())
    except OSError as e:
        raise StageError(folder, f"cannot read the folder ({e.strerror or e})") from None


def posts_blocks(src: SiteSource, reader: str = "auto") -> Iterator[bytes]:
    """Yield the bytes of the site's Posts.xml in blocks."""
    return table_blocks(src, "Posts.xml", reader)


def table_blocks(src: SiteSource, table: str, reader: str = "auto") -> Iterator[bytes]:
    """Yield the bytes of one table of the site's dump (Posts.xml, Comments.xml) in blocks."""
    if src.kind == "folder":
        member = next((c for c in _listdir(src.path) if c.name.lower() == table.lower()), None)
        if member is None:
            raise MissingTable(src.path, f"site folder has no {table}")
        try:
            f = open(member, "rb")
        except OSError as e:
            raise StageError(member, f"cannot read ({e.strerror or e})") from None
        with f:
            while block := f.read(BLOCK_SIZE):
                yield block
        return
    path = _table_archive(src, table)
    if not path.exists():
        raise MissingTable(path, f"no such archive (the {table} table of {src.site})")
    reader = resolve_reader(reader)
    if reader == "libarchive":
        yield from _blocks_libarchive(path, table)
    else:
        yield from _blocks_py7zr(path, table)


def _table_archive(src: SiteSource, table: str) -> Path:
    """Stack Overflow ships one archive per table: stackoverflow.com-Posts.7z, -Comments.7z, ..."""
    name = src.path.name
    if name.lower().endswith("-posts.7z"):
        return src.path.with_name(name[: -len("Posts.7z")] + table.replace(".xml", "") + ".7z")
    return src.path


def resolve_reader(reader: str) -> str:
    if reader not in READERS:
        raise ValueError(f"unknown reader {reader!r}")
    if reader in ("auto", "libarchive"):
        # libarchive-c warns at import that old system libraries cannot modify entry digests, a
        # feature of archive writing we never use.
        logging.getLogger("libarchive").setLevel(logging.ERROR)
        try:
            import libarchive  # noqa: F401  (the binding loads the system library here)
            return "libarchive"
        except (ImportError, OSError) as e:
            if reader == "libarchive":
                raise StageError("libarchive", f"cannot load ({e}); install the system library "
                                 "(Debian/Ubuntu: apt-get install libarchive13, macOS: brew install "
                                 "libarchive) and `pip install libarchive-c`") from e
        log.warning("libarchive is missing: falling back to py7zr, which holds Posts.xml in memory "
                    "(archives up to %d MiB); install libarchive13 for streaming", PY7ZR_LIMIT >> 20)
        return "py7zr"
    return reader


def _is_table(member: str, table: str = "Posts.xml") -> bool:
    return member.replace("\\", "/").rsplit("/", 1)[-1].lower() == table.lower()


def _blocks_libarchive(path: Path, table: str = "Posts.xml") -> Iterator[bytes]:
    import libarchive
    from libarchive.exception import ArchiveError
    try:
        with libarchive.file_reader(str(path), "7zip", block_size=BLOCK_SIZE) as archive:
            members = 0
            for entry in archive:
                members += 1
                if _is_table(entry.pathname, table):
                    yield from entry.get_blocks(BLOCK_SIZE)
                    return
    except ArchiveError as e:
        raise StageError(path, f"cannot read the 7z archive, truncated or corrupt? ({_short(e)})") from e
    if members == 0:
        raise StageError(path, "empty archive")
    raise MissingTable(path, f"archive holds no {table}")


def _blocks_py7zr(path: Path, table: str = "Posts.xml") -> Iterator[bytes]:
    import py7zr
    from py7zr.io import BytesIOFactory
    try:
        with py7zr.SevenZipFile(path) as z:
            infos = z.list()
            member = next((i for i in infos if _is_table(i.filename, table)), None)
            if member is None:
                raise (MissingTable if infos else StageError)(path, f"archive holds no {table}" if infos else "empty archive")
            if member.uncompressed > PY7ZR_LIMIT:
                raise StageError(path, f"{table} is {member.uncompressed >> 20} MiB, too large for "
                                 "the py7zr fallback; install libarchive13 (or 7z) to stream it")
            factory = BytesIOFactory(PY7ZR_LIMIT + 1)
            z.extract(targets=[member.filename], factory=factory)
            buf = factory.get(member.filename)
    except (py7zr.exceptions.ArchiveError, EOFError, OSError) as e:
        raise StageError(path, f"cannot read the 7z archive, truncated or corrupt? ({_short(e)})") from e
    buf.seek(0)
    while block := buf.read(BLOCK_SIZE):
        yield block


def _short(e: Exception) -> str:
    return " ".join(str(e).split())[:200]
