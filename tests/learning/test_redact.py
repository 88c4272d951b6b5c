"""PII redaction (pure regex, no model)."""

from __future__ import annotations

import pytest

from ml.learning.dataset import Record, build_training_set
from ml.learning.redact import find_pii, luhn_ok, redact

CANARY_EMAIL = "canary.zq81@kefu-canary.example"
CANARY_PHONE = "+1 (415) 555-0199"
CANARY_CN_PHONE = "13912345678"
CANARY_CARD = "4539 1488 0343 6467"  # Luhn-valid test number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at jane.doe+kefu@example.co.uk", "mail me at <EMAIL>"),
        ("call +44 20 7946 0958 or (555) 123-4567", "call <PHONE> or <PHONE>"),
        ("我的手机号是13800138000，谢谢", "我的手机号是<PHONE>，谢谢"),
        ("手机 +86 138 0013 8000", "手机 <PHONE>"),
        ("phone 020 7946 0958", "phone <PHONE>"),
        ("card 4111 1111 1111 1111 declined", "card <CARD> declined"),
        ("card 5500-0000-0000-0004", "card <CARD>"),
        ("my order 1001 is late", "my order <ORDER> is late"),
        ("where is #A-99812?", "where is <ORDER>?"),
        ("订单号：A20240115", "订单号：<ORDER>"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN <ACCOUNT>"),
        ("account number: 12345678", "account number: <ACCOUNT>"),
        ("member ID: AB12345", "member ID: <ACCOUNT>"),
        ("stray 12345678901234567890", "stray <NUMBER>"),
        # Not PII: short numbers, dates, times, amounts stay (they carry meaning).
        ("I paid 25.99 on 2024-01-15 at 10:30 for 3 items", "I paid 25.99 on 2024-01-15 at 10:30 for 3 items"),
        ("card arrived after 2 weeks", "card arrived after 2 weeks"),
    ],
)
def test_redact_cases(text, expected):
    assert redact(text) == expected


def test_luhn_decides_card_vs_number():
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert "<CARD>" not in redact("ref 4111 1111 1111 1112")  # not a card, but still gone
    assert "4111" not in redact("ref 4111 1111 1111 1112")


def test_fullwidth_digits_are_redacted():
    assert redact("电话１３８００１３８０００") == "电话<PHONE>"


def test_canaries_never_reach_the_training_set():
    records = [
        Record(f"my email is {CANARY_EMAIL}, please update", "change_email", source="relabel"),
        Record(f"call me back on {CANARY_PHONE}", "callback", source="confirmed"),
        Record(f"回电 {CANARY_CN_PHONE}", "callback", source="confirmed"),
        Record(f"my card {CANARY_CARD} was declined", "card_declined", source="relabel"),
        Record(f"card {CANARY_CARD.replace(' ', '-')} got declined again", "card_declined", source="example"),
        Record("where is my parcel", "delivery", source="example"),
    ]
    ts = build_training_set(records, validation_fraction=0.5)
    blob = repr(ts)
    for canary in (CANARY_EMAIL, "415", "0199", CANARY_CN_PHONE, "4539", "6467", "kefu-canary"):
        assert canary not in blob
    for ex in ts.train + ts.validation:
        assert find_pii(ex.text) == []
    assert ts.stats["redacted_email"] == 1 and ts.stats["redacted_card"] == 2
