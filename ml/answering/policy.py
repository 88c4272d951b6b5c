"""Is the visitor explicitly asking for a person? (The agent, ``ml.agent``, decides what follows.)"""

from __future__ import annotations

import re

# ----- explicit human request ------------------------------------------------------------

_HUMAN = (r"(a |an |the |some |real |live |actual )*(human|person|people|agent|operator|representative|rep|"
          r"somebody|someone|staff|employee|manager|supervisor|customer service|support team|"
          r"human being|live agent|real person)s?")
_VERB = r"(talk|speak|chat|connect|transfer|put|get|give|want|need|request|escalate|reach|contact)"
_REQUEST_RES = [
    re.compile(rf"\b{_VERB}\b[^.?!]{{0,25}}\b(to|with|me|through)?\b[^.?!]{{0,12}}\b{_HUMAN}\b", re.I),
    re.compile(rf"^\s*(can i |could i |may i |let me |i'd like to |i would like to )?"
               rf"(have |get )?{_HUMAN}\s*(please|pls|now|asap)?[\s.!?]*$", re.I),
    re.compile(r"\b(is there|are there|is this|are you)\b[^.?!]{0,20}\b(a |an )?(human|real person|"
               r"actual person|bot|robot)\b", re.I),
    re.compile(r"(人工|真人|转人工|客服人员|人工客服|找人|活人|接线员)"),
    re.compile(r"\b(hablar con (un|una) (persona|humano|agente)|parler à (un|une) (humain|conseiller|"
               r"personne|agent)|mit (einem|einer) (menschen|mitarbeiter|mitarbeiterin|agenten) sprechen|"
               r"parlare con (un|una) (persona|operatore|operatrice))\b", re.I),
]
_NEGATED = re.compile(r"\b(don't|do not|dont|no need to|not|never|without)\b[^.?!]{0,20}\b(talk|speak|"
                      r"want|need|transfer|human|agent|person)", re.I)
_NOT_A_REQUEST = re.compile(r"\b(i am|i'm|as) an? (travel |insurance |real estate )?agent\b|"
                            r"human resources|human error|\bagent (fee|code|number)\b", re.I)


def is_human_request(text: str) -> bool:
    """Does the visitor explicitly ask for a human? (en, zh, es, fr, de, it)"""
    t = (text or "").strip()
    if not t:
        return False
    if re.search(r"(不要|不用|不需要)(转)?(人工|真人)", t):
        return False
    if _NOT_A_REQUEST.search(t):
        return False
    if _NEGATED.search(t) and not re.search(r"\b(bot|robot|machine)\b", t, re.I):
        return False
    return any(r.search(t) for r in _REQUEST_RES)
