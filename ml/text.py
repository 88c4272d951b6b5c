"""Tokenisation shared by BM25, TF-IDF features and grounding (no heavy imports)."""

from __future__ import annotations

import re

# CJK Unified Ideographs (+ ext A), Hiragana/Katakana, Hangul syllables.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_CJK_RE = re.compile(rf"[{_CJK}]")

STOPWORDS = frozenset(
    "a an and are as at be but by can could did do does for from had has have how i if in"
    " into is it its me my of on or our so than that the their them then there these they"
    " this to was we were what when where which who why will with would you your yours"
    " am been being he she his her us".split()
)


# Chinese bigrams that only make a sentence a question ("how long", "I want", "can you"):
# without them "我想退货，需要多长时间？" matches "配送时间" as well as it matches "退货".
CJK_STOP_BIGRAMS = frozenset(
    "我想 想要 需要 要多 多长 长时 时间 多久 怎么 怎样 如何 什么 可以 能不 不能 是否 请问 你们 我们 您的 一下 的话".split()
)


def is_cjk(ch: str) -> bool:
    return bool(_CJK_RE.match(ch))


def tokenize(text: str, *, drop_stopwords: bool = True) -> list[str]:
    """Lower-cased word tokens; CJK runs become overlapping character bigrams.

    Chinese has no spaces, so words are approximated by bigrams (plus the single
    character for one-character runs), the usual trick for BM25 over CJK text.
    """
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text.lower()):
        tok = m.group(0)
        if is_cjk(tok[0]):
            if len(tok) == 1:
                out.append(tok)
            else:
                out.extend(tok[i:i + 2] for i in range(len(tok) - 1)
                           if not (drop_stopwords and tok[i:i + 2] in CJK_STOP_BIGRAMS))
        else:
            tok = tok.replace("’", "'")
            if drop_stopwords and tok in STOPWORDS:
                continue
            out.append(tok)
    return out


_SENT_RE = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])|\n{1,}")


def split_sentences(text: str) -> list[str]:
    """Rough sentence splitter (Latin punctuation + CJK full stops + newlines)."""
    parts = [p.strip(" \t-*•") for p in _SENT_RE.split(text or "")]
    return [p for p in parts if p and any(c.isalnum() for c in p)]
