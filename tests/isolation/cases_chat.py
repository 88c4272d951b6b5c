"""Isolation cases for chat routes (portal inbox pages and the conversations API)."""

from chat import services
from tenants import services as tenant_services
from tests.isolation.cases import Case, no_kwargs


def _conversation(team):
    widget, _secret = tenant_services.create_widget(actor=team.owner, name=f"chat-{team.tenant.slug}", allowed_origins="https://x.example")
    contact = services.resolve_visitor(widget=widget, name=f"Visitor {team.tenant.slug} secret")
    posted = services.send_visitor_message(contact=contact, body=f"private words of {team.tenant.slug}", client_msg_id="iso-1")
    return {"pk": posted.conversation.pk}, [posted.message.body, contact.name]


def _label(team):
    label = services.create_label(actor=team.owner, name=f"label-{team.tenant.slug}-secret")
    return {"pk": label.pk}, [label.name]


def _canned(team):
    canned = services.create_canned_response(actor=team.owner, shortcut=f"sc-{team.tenant.slug}", text=f"canned text {team.tenant.slug} secret")
    return {"pk": canned.pk}, [canned.text]


def _contact(team):
    widget, _secret = tenant_services.create_widget(actor=team.owner, name=f"privacy-{team.tenant.slug}", allowed_origins="https://x.example")
    contact = services.resolve_visitor(widget=widget, name=f"Private visitor {team.tenant.slug}")
    services.set_contact_email(contact=contact, email=f"visitor@{team.tenant.slug}.example.org")
    services.send_visitor_message(contact=contact, body=f"my secret order of {team.tenant.slug}", client_msg_id="iso-p1")
    return {"pk": contact.pk}, [contact.name, f"visitor@{team.tenant.slug}.example.org", f"my secret order of {team.tenant.slug}"]


def _list_markers(fn):
    return lambda team: fn(team)[1]


POST_ONLY = ("GET", "POST")

CASES = {
    "chat:contact": Case(setup=_contact, methods=("GET", "POST")),
    # The onboarding checklist: its links carry the slug; another tenant's member gets 404.
    "chat:start": Case(setup=no_kwargs(lambda team: [f"/t/{team.tenant.slug}/knowledge/"]), methods=("GET",)),
    "chat:contact-export": Case(setup=_contact, methods=("GET",)),
    "contact-detail": Case(setup=_contact),
    "contact-export": Case(setup=_contact),
    "chat:inbox": Case(setup=no_kwargs(_list_markers(_conversation)), methods=("GET",)),
    "chat:canned": Case(setup=no_kwargs(lambda team: _canned(team)[1] + _label(team)[1]), methods=("GET", "POST")),
    "conversation-list": Case(setup=no_kwargs(_list_markers(_conversation))),
    "conversation-detail": Case(setup=_conversation),
    "conversation-messages": Case(setup=_conversation, body={"body": "hello from A"}),
    "conversation-takeover": Case(setup=_conversation, methods=POST_ONLY),
    "conversation-assign": Case(setup=_conversation, methods=POST_ONLY, body={"assignee": None}),
    "conversation-resolve": Case(setup=_conversation, methods=POST_ONLY),
    "conversation-reopen": Case(setup=_conversation, methods=POST_ONLY),
    "conversation-pending": Case(setup=_conversation, methods=POST_ONLY),
    "conversation-snooze": Case(setup=_conversation, methods=POST_ONLY, body={"until": "2099-01-01T00:00:00Z"}),
    "conversation-labels": Case(setup=_conversation, methods=POST_ONLY, body={"labels": []}),
    "conversation-read": Case(setup=_conversation, methods=POST_ONLY, body={"seq": 1}),
    "conversation-attachments": Case(setup=_conversation, methods=POST_ONLY),
    "label-list": Case(setup=no_kwargs(_list_markers(_label)), body={"name": "x"}),
    "label-detail": Case(setup=_label),
    "canned-response-list": Case(setup=no_kwargs(_list_markers(_canned)), body={"shortcut": "x", "text": "y"}),
    "canned-response-detail": Case(setup=_canned),
}
