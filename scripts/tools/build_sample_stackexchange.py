#!/usr/bin/env python3
"""Write the embedded Stack Exchange sample dumps in data/sample/stackexchange/ from the posts in
data/sample/stackexchange_posts.yaml.

The posts are written by us (no dump text is copied); this script only lays them out in the real dump
format (docs/data.md#postsxml): one `<row .../>` per post, attributes in the dump's column order,
values XML-escaped with `&#xA;` newlines. Sites are `.7z` archives (bzip2, as the real dumps are)
holding Posts.xml and Comments.xml, or extracted folders, each with the quirks its `dump` entry names.

The output is byte-identical on every run (fixed mtimes, fixed member order, no clock reads), and
tests/test_se_sample.py checks that against the tracked files.

Run:
    .venv/bin/python scripts/tools/build_sample_stackexchange.py            # rewrite the sample
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml   # PyYAML (requirements-test.txt): only this developer tool reads the posts file

ROOT = Path(__file__).resolve().parents[2]
POSTS = ROOT / "data" / "sample" / "stackexchange_posts.yaml"
DEFAULT_OUT = ROOT / "data" / "sample" / "stackexchange"
MTIME = 1700000000                      # every archive member and folder file gets this mtime

# The 2024+ dumps open every XML file with a licence comment before the root element. This text
# is ours; a parser must cope with a multi-line comment there, whatever it says.
LICENCE_COMMENT = """<!--
  Sample data dump written for lima-repro, in the layout of the Stack Exchange data dumps.
  Each row's content is licensed under the Creative Commons licence named in its
  ContentLicense attribute (CC BY-SA 2.5, 3.0 or 4.0); attribution is due to the post's owner.
-->"""
LICENCE_TXT = ("Sample dump written for lima-repro. Content licensed CC BY-SA, version per row "
               "(ContentLicense attribute).\n")

# Column order of the real Posts.xml and Comments.xml; a row uses the subset it has.
POST_ATTRS = (
    "Id", "PostTypeId", "AcceptedAnswerId", "ParentId", "CreationDate", "Score", "ViewCount",
    "Body", "OwnerUserId", "OwnerDisplayName", "LastEditorUserId", "LastEditorDisplayName",
    "LastEditDate", "LastActivityDate", "Title", "Tags", "AnswerCount", "CommentCount",
    "FavoriteCount", "ClosedDate", "CommunityOwnedDate", "ContentLicense",
)
COMMENT_ATTRS = ("Id", "PostId", "Score", "Text", "CreationDate", "UserDisplayName", "UserId",
                 "ContentLicense")
NOT_COLUMNS = ("outcome",)              # what stage 01 must make of a row, kept out of the dump


def load_sites(path: Path = POSTS) -> dict[str, dict]:
    """domain -> {"dump": layout flags, "posts": [row, ...], "comments": [row, ...]}."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def escape_attr(value: str) -> str:
    """XML-escape an attribute value as the dumps do: newlines as &#xA;, other control characters
    as character references (which is how invalid ones like &#x1E; and &#x0; got into 2024 dumps)."""
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"&#x{ord(ch):X};")
        else:
            out.append(ch)
    return "".join(out)


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#xA;", "\r": "&#xD;"}


def _row_xml(row: dict, order: tuple) -> str:
    unknown = set(row) - set(order) - set(NOT_COLUMNS)
    if unknown:
        raise ValueError(f"{POSTS.name}: attributes outside the dump schema: {sorted(unknown)}")
    return "  <row " + " ".join(f'{k}="{escape_attr(str(row[k]))}"' for k in order if k in row) + " />"


def _document(dump: dict, root: str, rows: list[dict], order: tuple) -> bytes:
    nl = "\r\n" if dump["crlf"] else "\n"
    lines = ['<?xml version="1.0" encoding="utf-8"?>']
    if dump["licence_comment"]:
        lines.extend(LICENCE_COMMENT.split("\n"))
    lines.append(f"<{root}>")
    lines.extend(_row_xml(r, order) for r in rows)
    lines.append(f"</{root}>")
    text = nl.join(lines) + (nl if dump["final_newline"] else "")
    return ("\ufeff" if dump["bom"] else "").encode() + text.encode("utf-8")


def site_files(site: dict) -> dict[str, bytes]:
    """The member files of one site dump, name -> bytes."""
    dump = site["dump"]
    files = {"Posts.xml": _document(dump, "posts", site["posts"], POST_ATTRS),
             "Comments.xml": _document(dump, "comments", site["comments"], COMMENT_ATTRS)}
    if dump["licence_txt"]:
        files["license.txt"] = LICENCE_TXT.encode()
    return files


def _write_7z(path: Path, files: dict[str, bytes]) -> None:
    import libarchive   # the libarchive-c binding; only the writer needs it

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with libarchive.file_writer(str(tmp), "7zip", options="compression=bzip2") as w:
            for name in sorted(files):
                data = files[name]
                w.add_file_from_memory(name, len(data), data, mtime=(MTIME, 0))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.utime(tmp, (MTIME, MTIME))
    os.replace(tmp, path)


def build(out_dir: Path, posts: Path = POSTS) -> list[Path]:
    """Write every sample site into out_dir; return the paths written, sorted."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for domain, site in load_sites(posts).items():
        files = site_files(site)
        if site["dump"]["folder"]:
            folder = out_dir / domain
            folder.mkdir(exist_ok=True)
            for name in sorted(files):
                _write_file(folder / name, files[name])
                written.append(folder / name)
        else:
            path = out_dir / f"{domain}.7z"
            _write_7z(path, files)
            written.append(path)
    return sorted(written)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--posts", type=Path, default=POSTS, help="the posts file to lay out")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write the dumps into")
    args = p.parse_args(argv)
    for path in build(args.out, args.posts):
        print(f"{path.relative_to(args.out)}  {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
