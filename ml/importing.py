"""Parsing of knowledge imports: CSV of question/answer pairs; Markdown, text and HTML
files (HTML is sanitised to text: scripts, styles and markup never reach the knowledge)."""

from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
from pathlib import PurePath
from typing import Any

from tenants.errors import ServiceError

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_ITEMS = 20000


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


_WHITESPACE_CONTROLS = frozenset("\t\n\r\f\v")


def _decode_text(name: str, raw: bytes) -> str:
    """The upload as text; a binary file (an image or archive renamed .md) is refused with
    its name: NUL bytes and control characters would fail in PostgreSQL and the CSV reader."""
    text = _decode(raw)
    sample = text[:65536]
    unprintable = sum(
        1 for ch in sample
        if ch not in _WHITESPACE_CONTROLS and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn")
    )
    if "\x00" in text or unprintable > max(8, len(sample) // 100):
        raise ServiceError(f"{name}: this is not a text file (binary content).")
    return text


def parse_csv(raw: bytes, name: str = "CSV") -> list[dict[str, Any]]:
    """Rows with question and answer columns (any case; 'q'/'a' accepted) -> items."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise ServiceError("The file is too large (20 MB at most).")
    text = _decode_text(name, raw)
    reader = csv.DictReader(io.StringIO(text))
    fields = {name.strip().lower(): name for name in (reader.fieldnames or [])}
    q_col = fields.get("question") or fields.get("q") or fields.get("title")
    a_col = fields.get("answer") or fields.get("a") or fields.get("body")
    if not q_col or not a_col:
        raise ServiceError("The CSV needs 'question' and 'answer' columns.")
    t_col = fields.get("tags")
    items = []
    for row in reader:
        question = " ".join((row.get(q_col) or "").split())
        answer = (row.get(a_col) or "").strip()
        if not question or not answer:
            continue
        tags = [t.strip() for t in (row.get(t_col) or "").split(",") if t.strip()] if t_col else []
        items.append({"title": question[:200], "body": answer, "tags": tags, "source": "csv"})
        if len(items) > MAX_ITEMS:
            raise ServiceError(f"Too many rows ({MAX_ITEMS} at most).")
    if not items:
        raise ServiceError("The CSV has no question/answer rows.")
    return items


_BLOCK_END = re.compile(r"</(p|div|section|article|li|tr|table|ul|ol|blockquote|pre)\s*>", re.I)
_BR = re.compile(r"<br\s*/?>", re.I)
_HEADING = re.compile(r"<h([1-6])[^>]*>(.*?)</h\1\s*>", re.I | re.S)
_LI = re.compile(r"<li[^>]*>", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)


def html_to_text(raw_html: str) -> tuple[str, str]:
    """(title, Markdown-ish text) from HTML; every tag, script and style removed."""
    import nh3

    title_match = _TITLE.search(raw_html)
    title = html.unescape(nh3.clean(title_match.group(1), tags=set())).strip() if title_match else ""
    # Drop script/style/head content first, keeping the block structure.
    cleaned = nh3.clean(raw_html, tags={"h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "li", "div", "section",
                                        "article", "ul", "ol", "tr", "table", "blockquote", "pre"},
                        attributes={}, strip_comments=True)
    cleaned = _HEADING.sub(lambda m: "\n\n" + "#" * int(m.group(1)) + " " + " ".join(m.group(2).split()) + "\n\n", cleaned)
    cleaned = _LI.sub("\n- ", cleaned)
    cleaned = _BR.sub("\n", cleaned)
    cleaned = _BLOCK_END.sub("\n\n", cleaned)
    text = html.unescape(nh3.clean(cleaned, tags=set()))
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n\s*\n\s*(\n\s*)+", "\n\n", text).strip()
    if not title:
        m = re.search(r"^#{1,6} (.+)$", text, re.M)
        title = m.group(1).strip() if m else ""
    return title, text


def parse_file(name: str, raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_IMPORT_BYTES:
        raise ServiceError(f"{name}: too large (20 MB at most).")
    suffix = PurePath(name).suffix.lower()
    text = _decode_text(name, raw)
    stem = PurePath(name).stem.replace("_", " ").replace("-", " ").strip() or "Untitled"
    if suffix in {".html", ".htm"}:
        title, body = html_to_text(text)
    elif suffix in {".md", ".markdown", ".txt", ".text"}:
        body = text.strip()
        m = re.match(r"^\s*#\s+(.+?)\s*$", body, re.M)
        title = m.group(1) if m and suffix != ".txt" else ""
        if m and suffix != ".txt" and body.lstrip().startswith("#"):
            body = body.lstrip()[m.end() - m.start():].strip() or body
    else:
        raise ServiceError(f"{name}: only .md, .txt and .html files can be imported.")
    if not body.strip():
        raise ServiceError(f"{name}: the file is empty.")
    return {"title": (title or stem)[:200], "body": body, "tags": [], "source": f"file:{PurePath(name).name}"[:40]}
