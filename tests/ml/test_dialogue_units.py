"""The conversation helpers on their own (no models): small talk, slot values and
corrections, the reply language, action replies without blank fields (gettext en/zh)."""

from __future__ import annotations

import re

import pytest

from ml.actions import ActionSpec
from ml.agent import reply_language
from ml.dialogue import slots
from ml.dialogue.replies import render_action_reply
from ml.dialogue.settings import AgentSettings
from ml.dialogue.smalltalk import classify_small_talk


@pytest.mark.parametrize("text,kind", [
    ("Hello", "greeting"), ("Hi there!", "greeting"), ("thanks, that helps", "thanks"), ("bye", "goodbye"),
    ("Are you a bot?", "bot_question"), ("I need help with my account please", "help_request"),
    ("yes please", "affirm"), ("no", "deny"), ("你好", "greeting"), ("谢谢你们的帮助", "thanks"),
    ("你是机器人吗？", "bot_question"), ("我需要帮助", "help_request"), ("再见", "goodbye"),
    ("Hello, how long does shipping take?", None), ("I need help returning an item", None),
    ("no, I meant 1003", None), ("你们几点营业？", None),
])
def test_small_talk(text, kind):
    assert classify_small_talk(text, max_words=AgentSettings().small_talk_max_words).kind == kind


def test_a_greeting_is_dropped_from_the_question():
    assert classify_small_talk("Hi! Where is my order?", max_words=8).remainder == "Where is my order?"
    assert classify_small_talk("你好，我想退货", max_words=8).remainder == "我想退货"


def test_slot_values_and_corrections():
    param = {"name": "order_number", "type": "order_number"}
    assert slots.value_in(param, "no, I meant 1003") == "1003"
    assert slots.value_in(param, "不是，是1003") == "1003"
    assert slots.is_correction("no, I meant 1003") and slots.is_correction("不是，是1003")
    assert not slots.is_correction("1003")
    assert slots.is_bare_value("It's 1002", "1002") and not slots.is_bare_value("Where is my order 1001?", "1001")


def test_short_text_keeps_the_conversation_language():
    s = AgentSettings()
    assert reply_language(("it", 0.36), "en", "en", s) == "en"  # "Hello"
    assert reply_language(("und", 0.0), "zh", "en", s) == "zh"  # "1002" in a Chinese conversation
    assert reply_language(("zh", 1.0), "en", "en", s) == "zh"
    assert reply_language(("fr", 0.97), None, "en", s) == "fr"


TEMPLATE = "Order {order_number} is {status}. Carrier: {carrier}, tracking number {tracking_number}; expected: {eta}."


def test_an_empty_field_drops_its_clause_and_says_it_is_not_available(db):
    spec = ActionSpec(id=1, name="order_status", method="GET", url_template="", response_template=TEMPLATE)
    data = {"status": "processing", "carrier": "", "tracking_number": None, "eta": "in 4 days", "email": "x@y.z"}
    text = render_action_reply(spec, {"order_number": "1002"}, data, language="en", template_language="en")
    assert text == "Order 1002 is processing. Expected: in 4 days. Not available yet: carrier, tracking number."
    full = {"status": "shipped", "carrier": "DHL", "tracking_number": "JD1", "eta": "2 days"}
    assert render_action_reply(spec, {"order_number": "1001"}, full, language="en", template_language="en") == \
        "Order 1001 is shipped. Carrier: DHL, tracking number JD1; expected: 2 days."
    zh = render_action_reply(spec, {"order_number": "1002"}, data, language="zh", template_language="en")
    assert zh.startswith("查询结果：") and "x@y.z" not in zh  # only allowed fields, bot's own phrasing
    assert not re.search(r":\s*[,;.]|\s[,;]|None|\{", zh + text)


def test_a_persons_reply_ends_what_the_bot_was_doing():
    from ml.dialogue.state import previous_state

    asked = {"kind": "ask_slot", "action": "order_status", "awaiting": "order_number"}
    history = [{"role": "visitor", "text": "Where is my order?"}, {"role": "bot", "text": "...", "state": asked}]
    assert previous_state(history).action == "order_status"
    assert previous_state([*history, {"role": "agent", "text": "Hi, Anna here."}]) is None
    assert previous_state([{"role": "bot", "text": "old reply without state"}]) is None
