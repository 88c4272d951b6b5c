"""Visitor language detection: pure-Python, no model files.

Script first (Han, kana, Hangul, Cyrillic, Arabic, Greek, Hebrew, Thai, Devanagari), then
for Latin script a function-word profile per language plus distinctive letters. Good
enough to pick a reply language and route to a human who speaks it; short or ambiguous
text falls back to ``default`` with low confidence.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

_WORDS: dict[str, set[str]] = {
    "en": set("the and is are you your to of in it that this for not with have what how can my i me do does please thanks hello hi want need help".split()),
    "es": set("el la los las de que y en un una es por para con no mi mis su se lo como pero más hola gracias quiero necesito ayuda tengo está cuenta".split()),
    "fr": set("le la les de des du et est un une pour pas que qui dans en je vous mon ma mes avec sur bonjour merci veux besoin aide compte c'est ne".split()),
    "de": set("der die das und ist nicht ich sie du ein eine zu mit den dem von für auf mein meine hallo danke bitte möchte brauche hilfe konto wie was".split()),
    "it": set("il la lo gli le di che e è un una per non con mi mio mia sono ciao grazie voglio ho bisogno aiuto conto come del della".split()),
    "pt": set("o a os as de que e é um uma para não com meu minha se do da em olá obrigado obrigada quero preciso ajuda conta como está".split()),
    "nl": set("de het een en is niet ik je jij van voor met op mijn hallo dank bedankt wil heb nodig hulp rekening hoe wat dat".split()),
}
_CHARS: dict[str, str] = {
    "es": "ñ¿¡áéíóú", "fr": "çèêëàâîïôûœ", "de": "äöüß", "it": "àèéìòù", "pt": "ãõçáâêôà",
    "nl": "ĳ",
}
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


class Language(NamedTuple):
    """(code, confidence); a tuple so callers may unpack it or take ``[0]``."""

    code: str          # ISO 639-1 ("en", "zh", ...) or "und"
    confidence: float  # 0..1, rough


def _script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF:
            s = "kana"
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            s = "han"
        elif 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF:
            s = "hangul"
        else:
            name = unicodedata.name(ch, "")
            s = name.split(" ")[0].lower() if name else "other"
        counts[s] = counts.get(s, 0) + 1
    return counts


_SCRIPT_LANG = {"cyrillic": "ru", "arabic": "ar", "greek": "el", "hebrew": "he",
                "thai": "th", "devanagari": "hi", "hangul": "ko"}


def detect_language(text: str, default: str = "en") -> Language:
    """Best-guess language of ``text``."""
    counts = _script_counts(text or "")
    total = sum(counts.values())
    if total == 0:
        return Language("und", 0.0)
    if counts.get("kana", 0) > 0:
        return Language("ja", min(1.0, 0.6 + counts["kana"] / total))
    han = counts.get("han", 0)
    if han / total >= 0.3 or (han >= 2 and han >= counts.get("latin", 0) / 4):
        return Language("zh", min(1.0, 0.5 + han / total / 2))
    top_script = max(counts, key=lambda k: counts[k])
    if top_script in _SCRIPT_LANG:
        return Language(_SCRIPT_LANG[top_script], min(1.0, 0.5 + counts[top_script] / total / 2))
    words = [w.lower() for w in _WORD_RE.findall(text)]
    if not words:
        return Language(default, 0.1)
    scores: dict[str, float] = {}
    low = text.lower()
    for lang, vocab in _WORDS.items():
        s = float(sum(1 for w in words if w in vocab))
        s += 0.5 * sum(low.count(c) for c in _CHARS.get(lang, ""))
        scores[lang] = s
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    (best, s1), (_, s2) = ranked[0], ranked[1]
    if s1 <= 0:
        return Language(default, 0.1)
    conf = (s1 - s2) / (s1 + 1.0) + min(0.4, s1 / (len(words) + 1))
    return Language(best, float(max(0.05, min(1.0, conf))))
