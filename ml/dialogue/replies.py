"""An action's reply to the visitor, without blank fields.

The tenant's response template is rendered clause by clause ("Order {order_number} is
{status}. Carrier: {carrier}, tracking number {tracking_number}; expected: {eta}."): a
clause whose field is empty or missing is left out and the reply says which details are
not available yet, so "Carrier: , tracking number ;" never reaches a visitor. Only the
fields the tenant allowed are shown (``ml.actions.allowed_fields``). The template is
written in the tenant's language; a visitor writing in another language gets the same
allowed fields with the bot's own (translated) phrasing.
"""

from __future__ import annotations

import re
import string
from typing import Any

from ml import actions as action_mod
from ml.dialogue import texts

_CLAUSE_END = re.compile(r"(?<=[.;,!?。；，！？])\s*")
_FIELD_VALUE_MAX_CHARS = 200  # longer values are not chat material
_GENERIC_FIELDS_SHOWN = 6


def _fields(template: str) -> list[str]:
    return [f[1] for f in string.Formatter().parse(template) if f[1]]


def _label(name: str) -> str:
    return name.replace("_", " ")


def _join(clauses: list[str]) -> str:
    out: list[str] = []
    for i, clause in enumerate(clauses):
        if i == len(clauses) - 1 and clause[-1:] in ",;，；":
            clause = clause[:-1] + "."
        if out and out[-1][-1:] in ".!?" and clause[:1].islower():
            clause = clause[:1].upper() + clause[1:]
        out.append(clause)
    return " ".join(out)


def render_action_reply(spec: action_mod.ActionSpec, values: dict[str, str], data: dict[str, Any], *,
                        language: str, template_language: str) -> str:
    allowed = action_mod.allowed_fields(spec)
    shown = {k: v.strip() for k, v in action_mod._flatten(data).items() if k in allowed}
    available = {**{k: str(v).strip() for k, v in values.items()}, **shown}
    available = {k: v for k, v in available.items() if v and len(v) <= _FIELD_VALUE_MAX_CHARS}
    if spec.response_template and language == template_language:
        kept: list[str] = []
        missing: list[str] = []
        for clause in (c.strip() for c in _CLAUSE_END.split(spec.response_template)):
            if not clause:
                continue
            names = _fields(clause)
            absent = [n for n in names if n not in available]
            if absent:
                missing += [n for n in absent if n not in missing]
                continue
            kept.append(clause.format(**{n: available[n] for n in names}))
        if kept:
            text = _join(kept)
            if missing:
                text += " " + texts.details_not_available([_label(n) for n in missing], language)
            return text
    details = [f"{_label(k)}: {v}" for k, v in available.items()][:_GENERIC_FIELDS_SHOWN]
    return texts.action_details("; ".join(details), language) if details else texts.action_done(language)
