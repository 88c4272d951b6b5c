"""Visitor language detection with lingua (``lingua-language-detector``; its n-gram models
ship inside the wheel, nothing is downloaded).

The detector is restricted to the languages a tenant may enable plus a few common ones
(fewer candidates: faster and fewer confusions on short text) and built once per process.
Short or ambiguous text ("ok", "1002") comes back with a low confidence or ``und``: the
agent then keeps the conversation's language instead (``ml.dialogue.language``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ml.backends._runtime import ProcessWide

# ISO 639-1 codes the detector chooses between.
DETECTABLE = ("en", "zh", "es", "fr", "de", "it", "pt", "nl", "ru", "ja", "ko", "ar")



class Language(NamedTuple):
    """(code, confidence); a tuple so callers may unpack it or take ``[0]``."""

    code: str          # ISO 639-1 ("en", "zh", ...) or "und"
    confidence: float  # 0..1: lingua's relative confidence of the top language


def _build_detector() -> Any:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in DETECTABLE]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


_detector: ProcessWide[Any] = ProcessWide(_build_detector)


def _get_detector() -> Any:
    return _detector.get()


def detect_language(text: str) -> Language:
    """Best-guess language of ``text``; ``und`` when it has no letters lingua can use."""
    if not any(ch.isalpha() for ch in text or ""):
        return Language("und", 0.0)
    values = _get_detector().compute_language_confidence_values(text)
    if not values or values[0].value <= 0.0:
        return Language("und", 0.0)
    top = values[0]
    return Language(top.language.iso_code_639_1.name.lower(), round(float(top.value), 4))


def warm_up() -> None:
    """Build the detector now (first use otherwise pays ~0.1 s per language model)."""
    detect_language("warm up")
    detect_language("预热")
