"""Every user-visible msgid has a zh_Hans translation.

The msgids are the ones Django's own extractor finds: `makemessages` runs in a copy of the
source tree (templates' {% trans %}/{% blocktrans %}, Python gettext/_/gettext_lazy/ngettext/
pgettext calls) and merges them into a copy of the committed zh_Hans catalogue; an entry that
comes out with an empty or fuzzy msgstr is untranslated. The widget carries its own en/zh-hans
table in static/chat/widget.js; every English key must have a Chinese value there.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = Path("locale/zh_Hans/LC_MESSAGES/django.po")
# What makemessages must not walk: build outputs, caches, the venv, test trees.
SKIPPED = {".venv", ".git", "var", "screenshots", "bench-results", "media", "staticfiles", "tests",
           ".mypy_cache", ".ruff_cache", ".pytest_cache", ".cache", ".import_linter_cache", "__pycache__"}


def _po_entries(text: str) -> list[dict[str, object]]:
    """Live (non-obsolete) entries of a .po file: msgid, msgstr list and flags."""
    entries: list[dict[str, object]] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        flags: set[str] = set()
        fields: dict[str, str] = {}
        current = None
        for line in lines:
            if line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and current:
                fields[current] += json.loads(line)
            elif line.strip():
                key, _, value = line.partition(" ")
                current = key
                fields[key] = json.loads(value)
        if "msgid" in fields and fields["msgid"]:
            strs = [value for key, value in fields.items() if key.startswith("msgstr")]
            entries.append({"msgid": fields["msgid"], "msgstrs": strs, "flags": flags})
    return entries


def _untranslated(entries: list[dict[str, object]]) -> list[str]:
    return sorted(str(e["msgid"]) for e in entries
                  if "fuzzy" in e["flags"] or not all(e["msgstrs"]) or not e["msgstrs"])  # type: ignore[operator, arg-type]


def test_committed_catalogue_has_no_fuzzy_or_empty_entries() -> None:
    missing = _untranslated(_po_entries((ROOT / CATALOGUE).read_text(encoding="utf-8")))
    assert not missing, f"{len(missing)} zh_Hans entries empty or fuzzy: {missing}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) not installed")
def test_every_msgid_in_templates_and_python_has_a_zh_hans_translation(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=lambda _dir, names: [n for n in names if n in SKIPPED])
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "--no-location"],
        cwd=copy, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "KEFU_DEBUG": "1", "KEFU_SECRET_KEY": "x" * 50},
    )
    assert result.returncode == 0, result.stderr
    missing = _untranslated(_po_entries((copy / CATALOGUE).read_text(encoding="utf-8")))
    assert not missing, f"{len(missing)} msgids lack a zh_Hans translation: {missing}"


def _widget_tables(source: str) -> tuple[dict[str, str], dict[str, str]]:
    """The en and zh-hans string tables of `var STRINGS = { en: {...}, "zh-hans": {...} };`."""
    table = source[source.index("var STRINGS = {"):]
    table = table[:table.index("\n  };")]
    english, chinese = table.split('"zh-hans": {')
    pairs = r'(\w+):\s*"((?:[^"\\]|\\.)*)"'
    return dict(re.findall(pairs, english)), dict(re.findall(pairs, chinese))


def test_every_widget_string_has_a_zh_hans_value() -> None:
    source = (ROOT / "static/chat/widget.js").read_text(encoding="utf-8")
    english, chinese = _widget_tables(source)
    assert len(english) > 20, "could not read the widget's string table"
    missing = sorted(key for key in english if not chinese.get(key, "").strip())
    assert not missing, f"widget strings without zh-hans: {missing}"
    assert not set(chinese) - set(english), "zh-hans keys the widget never uses in English"
