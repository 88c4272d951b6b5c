"""Action parameters ("slots") read from ONE visitor message.

Values are never collected from earlier messages: a pending action keeps the values it
already has in the turn state, so an order number typed for a cancellation is not reused
by a later, unrelated lookup.
"""

from __future__ import annotations

import re
from typing import Any

from ml import actions as action_mod

# "no, I meant 1003", "sorry, it's 1003", "actually 1003", "不是，是1003", "我说错了，应该是1003".
CORRECTION_RE = re.compile(
    r"^\s*(no|nope|sorry|oops|actually|wait|wrong)\b|\bi meant\b|\bi mean\b|\bnot\s+#?\d+|\bshould be\b|\bmy mistake\b|"
    r"不是|我是说|说错|应该是|搞错|写错|打错", re.I)
# What is left of a message that is only a value ("1003", "it's 1003", "order #1003", "是1003").
_VALUE_FILLER_RE = re.compile(
    r"\b(it'?s|it is|its|the|my|order|number|no|is|this|one|here|please|sure|ok|okay|yes|ah|oh)\b|"
    r"[\s\W_]|订单|号码|编号|是|号|的|我", re.I)


_CJK_DIGIT_EDGE = re.compile(r"(?<=[\u3400-\u9fff])(?=[#\d])|(?<=\d)(?=[\u3400-\u9fff])")


def value_in(param: dict[str, Any], message: str) -> str | None:
    """The parameter's value in this message, if any ("是1003" counts: CJK has no spaces)."""
    message = _CJK_DIGIT_EDGE.sub(" ", message)
    return action_mod.extract_value(str(param.get("type", "string")), [message], str(param.get("name", "")))


def values_in(spec: action_mod.ActionSpec, message: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for param in spec.parameters:
        value = value_in(param, message)
        if value is not None:
            found[str(param.get("name", ""))] = value
    return found


def missing_parameters(spec: action_mod.ActionSpec, slots: dict[str, str]) -> list[dict[str, Any]]:
    return [p for p in spec.parameters if p.get("required", True) and str(p.get("name", "")) not in slots]


def is_correction(message: str) -> bool:
    return bool(CORRECTION_RE.search(message))


def is_bare_value(message: str, value: str) -> bool:
    """The message gives the value and nothing else (a reply to "what is your order number?")."""
    rest = message.replace(value, " ", 1)
    return not _VALUE_FILLER_RE.sub("", CORRECTION_RE.sub(" ", rest))


def parameter(spec: action_mod.ActionSpec, name: str | None) -> dict[str, Any] | None:
    return next((p for p in spec.parameters if str(p.get("name", "")) == name), None)
