"""Every text the bot writes itself (not taken from the knowledge base or an action), in
the visitor's language through gettext (catalogs: en, zh-hans in ``locale/``).

A language without a catalog gets English. Call these with the turn's language code
("en", "zh", ...); they return plain ``str``.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# Languages with a catalog, by ISO 639-1 code -> Django language code.
CATALOGS = {"en": "en", "zh": "zh-hans"}
LANGUAGE_NAMES = {"en": gettext_noop("English"), "zh": gettext_noop("Chinese")}

_HANDOFF = {
    "visitor_request": gettext_noop("Sure — I'm connecting you with a member of our team. Someone will be with you "
                                    "shortly."),
    "max_bot_turns": gettext_noop("Let me bring in a member of our team to help you further."),
    "negative_sentiment": gettext_noop("I'm sorry about this. I'm passing you to a member of our team who can help."),
    "escalating_intent": gettext_noop("This is something a member of our team should handle — I'm connecting you "
                                      "now."),
    "out_of_scope": gettext_noop("I can't answer that myself, so I'm passing you to a member of our team."),
    "low_confidence": gettext_noop("I don't want to guess, so I'm passing you to a member of our team."),
    "unsupported_language": gettext_noop("I'm connecting you with a member of our team who can help you."),
    "action_failed": gettext_noop("I couldn't look that up right now, so I'm passing you to a member of our team."),
    "needs_approval": gettext_noop("A member of our team needs to approve this, so I'm connecting you now."),
    "identity_required": gettext_noop("For your security, a member of our team will help you with this."),
    "missing_parameter": gettext_noop("I'm passing you to a member of our team who can look into this with you."),
    "model_error": gettext_noop("Sorry, I'm having trouble right now. A member of our team will take over."),
}
_SMALL_TALK = {
    "greeting": gettext_noop("Hello! How can I help you today?"),
    "thanks": gettext_noop("You're welcome! Is there anything else I can help you with?"),
    "goodbye": gettext_noop("Thank you for chatting with us. Goodbye!"),
    "bot_question": gettext_noop("I'm an automated assistant. I answer from this company's help articles, and I can "
                                 "connect you with a person whenever you like."),
    "help_request": gettext_noop("Of course! What exactly do you need help with?"),
    "affirm": gettext_noop("Great! What else can I help you with?"),
    "deny": gettext_noop("All right. What else can I help you with?"),
}
_PROMPTS = {
    "order_number": gettext_noop("Could you tell me your order number?"),
    "email": gettext_noop("Could you tell me the e-mail address you used?"),
}


def django_language(language: str) -> str:
    return CATALOGS.get((language or "en").split("-")[0].lower(), "en")


def has_catalog(language: str) -> bool:
    return (language or "").split("-")[0].lower() in CATALOGS


def _in(language: str, message: str, **params: str) -> str:
    with translation.override(django_language(language)):
        text = str(_(message))
        return text % params if params else text


def handoff(reason: str, language: str) -> str:
    return _in(language, _HANDOFF.get(reason, _HANDOFF["low_confidence"]))


def small_talk(kind: str, language: str) -> str:
    return _in(language, _SMALL_TALK[kind])


def clarify(language: str) -> str:
    return _in(language, gettext_noop("I'm not sure I understood. Could you tell me a bit more about what you need?"))


def acknowledge_complaint(language: str) -> str:
    return _in(language, gettext_noop("I'm really sorry about this. Would you like me to connect you with a member of "
                                      "our team?"))


def ask_parameter(kind: str, label: str, language: str) -> str:
    if kind in _PROMPTS:
        return _in(language, _PROMPTS[kind])
    return _in(language, gettext_noop("Could you give me the %(label)s?"), label=label)


def ask_again(prompt: str, language: str) -> str:
    return _in(language, gettext_noop("Sorry, I didn't catch that. %(prompt)s"), prompt=prompt)


def not_found(value: str, language: str) -> str:
    return _in(language, gettext_noop("I couldn't find anything for %(value)s. Could you check it and send it again?"),
               value=value)


def details_not_available(labels: list[str], language: str) -> str:
    return _in(language, gettext_noop("Not available yet: %(details)s."), details=", ".join(labels))


def action_details(details: str, language: str) -> str:
    return _in(language, gettext_noop("Here is what I found: %(details)s."), details=details)


def action_done(language: str) -> str:
    return _in(language, gettext_noop("The request went through."))


def no_articles_in_language(language: str) -> str:
    """The knowledge base has nothing in the visitor's language (a person takes over)."""
    code = (language or "").split("-")[0].lower()
    name = LANGUAGE_NAMES.get(code)
    if name is None:
        return _in("en", gettext_noop("Sorry, I can't answer in your language yet. I'm connecting you with a member of "
                                      "our team."))
    with translation.override(django_language(code)):
        return str(_("Sorry, our help articles are not available in %(language)s yet. I'm connecting you with a "
                     "member of our team.") % {"language": _(name)})
