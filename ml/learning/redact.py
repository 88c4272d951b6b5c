"""PII redaction for anything kept as training data.

Training sets outlive conversations (and visitors who asked to be deleted), so personal
identifiers are replaced by typed placeholders *before* storage. Placeholders keep the
shape of the sentence ("my card <CARD> was declined"), which is what an intent model
needs; the identifier itself never is. The rules lean towards over-redaction: a stray
long digit run becomes <NUMBER> rather than survive.

Order of the passes matters: e-mails first (their digits are not phones), then IBANs
and keyword-anchored order/account ids (letters + digits), then digit runs, which are
classified as card (Luhn), phone or generic number.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

EMAIL = "<EMAIL>"
PHONE = "<PHONE>"
CARD = "<CARD>"
ORDER = "<ORDER>"
ACCOUNT = "<ACCOUNT>"
NUMBER = "<NUMBER>"
PLACEHOLDERS = (EMAIL, PHONE, CARD, ORDER, ACCOUNT, NUMBER)

# Full-width digits/signs (common in Chinese input methods) behave like ASCII ones.
_FULLWIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                            "＋": "+", "－": "-", "（": "(", "）": ")", "＠": "@", "．": "."})

_EMAIL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

# IBAN-like: country code, 2 check digits, 11–30 alphanumerics, optionally in groups of 4.
_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?(?![A-Za-z0-9])")

# An identifier token: letters/digits/dashes with at least one digit.
_ID = r"(?=[A-Za-z0-9\-/]*\d)[A-Za-z0-9][A-Za-z0-9\-/]{2,}"
_ORDER_KW = r"(?:order|orders|ord|invoice|inv|booking|reservation|confirmation|tracking|shipment|parcel|ticket|case|receipt|订单号?|单号|运单号?|发票号?)"
_ACCOUNT_KW = r"(?:account|acct|a/c|customer|client|member(?:ship)?|user\s*id|policy|contract|iban|账户|账号|帐号|会员号?|客户号)"
_NO = r"(?:\s*(?:no\.?|nr\.?|num(?:ber)?|#|id|ref(?:erence)?|code|编号|号码|号))?\s*[:：#]?\s*"
_ORDER_RE = re.compile(rf"(?<![A-Za-z])({_ORDER_KW}{_NO})({_ID})", re.IGNORECASE)
_ACCOUNT_RE = re.compile(rf"(?<![A-Za-z])({_ACCOUNT_KW}{_NO})({_ID})", re.IGNORECASE)
_HASH_ID_RE = re.compile(r"#\s?(?=[A-Za-z0-9\-]*\d)[A-Za-z0-9][A-Za-z0-9\-]{2,}")

# Digit runs with single separators between groups: "+86 138-0013-8000", "(555) 123 4567",
# "4111 1111 1111 1111". Letters right before/after mean it is part of a word or id.
_DIGITS_RE = re.compile(r"(?<![A-Za-z0-9])\+?(?:\(\d{1,5}\)|\d+)(?:[ .\-]?(?:\(\d{1,5}\)|\d+))*(?![A-Za-z0-9])")
_DATE_RE = re.compile(r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$")
_CN_MOBILE_RE = re.compile(r"^(?:0?86)?1[3-9]\d{9}$")


def luhn_ok(digits: str) -> bool:
    """Luhn checksum, so order ids and phone numbers of card length are not called cards."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _classify_digits(span: str) -> str | None:
    """Placeholder for a digit run, or None to keep it (short numbers, dates, amounts)."""
    digits = re.sub(r"\D", "", span)
    n = len(digits)
    if n < 7:
        return None
    if _DATE_RE.match(span.strip()):
        return None
    if 13 <= n <= 19 and luhn_ok(digits) and not span.startswith("+"):
        return CARD
    if _CN_MOBILE_RE.match(digits):
        return PHONE
    formatted = span.startswith("+") or "(" in span or bool(re.search(r"\d[ .\-]\d", span))
    if 7 <= n <= 15 and (formatted or digits.startswith("0") or n in (10, 11)):
        return PHONE
    return NUMBER


@dataclass
class Redaction:
    text: str
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.counts)


def redact_with_report(text: str) -> Redaction:
    """Redacted text plus how many of each placeholder were inserted (for data reports)."""
    counts: Counter[str] = Counter()
    if not text:
        return Redaction(text or "", counts)
    out = text.translate(_FULLWIDTH)

    def sub(pattern: re.Pattern[str], placeholder: str, s: str) -> str:
        def repl(m: re.Match[str]) -> str:
            counts[placeholder] += 1
            return placeholder
        return pattern.sub(repl, s)

    def sub_keyword(pattern: re.Pattern[str], placeholder: str, s: str) -> str:
        # Keep the keyword ("order <ORDER>"): it carries the intent, the id does not.
        def repl(m: re.Match[str]) -> str:
            counts[placeholder] += 1
            return m.group(1) + placeholder
        return pattern.sub(repl, s)

    out = sub(_EMAIL_RE, EMAIL, out)
    out = sub(_IBAN_RE, ACCOUNT, out)
    out = sub_keyword(_ACCOUNT_RE, ACCOUNT, out)
    out = sub_keyword(_ORDER_RE, ORDER, out)
    out = sub(_HASH_ID_RE, ORDER, out)

    def digits_repl(m: re.Match[str]) -> str:
        span = m.group(0)
        # Keep trailing separators/punctuation out of the decision.
        placeholder = _classify_digits(span)
        if placeholder is None:
            return span
        counts[placeholder] += 1
        return placeholder

    out = _DIGITS_RE.sub(digits_repl, out)
    return Redaction(out, counts)


def redact(text: str) -> str:
    """Text with e-mails, phones, cards, order/account ids replaced by placeholders."""
    return redact_with_report(text).text


def find_pii(text: str) -> list[str]:
    """Kinds of PII still detectable in ``text`` (empty list when clean): a guard for
    stores that must never hold any."""
    return sorted(redact_with_report(text).counts)
