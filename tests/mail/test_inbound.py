"""The inbound webhook: a visitor's e-mail answer (raw RFC 822) lands in its conversation,
once; a forged address, a wrong secret or another tenant's conversation store nothing."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from chat import services
from chat.models import Message, Sender
from mail.addresses import reply_address
from mail.inbound import rotate_inbound_secret
from tests.chat.conftest import ORIGIN_A, ORIGIN_B, make_widget

pytestmark = pytest.mark.django_db


def _conversation(team, origin):
    info = make_widget(team, origin)
    contact = services.resolve_visitor(widget=info.widget, language="en")
    services.set_contact_email(contact=contact, email="visitor@mail.test")
    posted = services.send_visitor_message(contact=contact, body="Where is my order?", client_msg_id="first")
    return posted.conversation


def raw_reply(*, to: str, text: str, message_id: str = "<answer-1@mail.test>", html: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Visitor <visitor@mail.test>"
    msg["To"] = to
    msg["Subject"] = "Re: Tenant replied to your message"
    msg["Message-ID"] = message_id
    if html:
        msg.set_content(text, subtype="html")
    else:
        msg.set_content(text)
    return msg.as_bytes()


def post(client, raw: bytes, secret: str):
    return client.post("/inbound/mail/", data=raw, content_type="message/rfc822", HTTP_X_KEFU_INBOUND_SECRET=secret)


def visitor_bodies(tenant, conversation_id) -> list[str]:
    return list(
        Message.objects.for_tenant(tenant).filter(conversation_id=conversation_id, sender=Sender.VISITOR)
        .order_by("seq").values_list("body", flat=True)
    )


def test_reply_lands_in_its_conversation_once_without_the_quote(client, team_a):
    conv = _conversation(team_a, ORIGIN_A)
    secret = rotate_inbound_secret(tenant=team_a.tenant)
    text = "Yes, please send it to my office.\n\nOn Mon, 30 Nov 2026, Kefu <support@kefu.test> wrote:\n> Shall we ship it?\n"
    raw = raw_reply(to=reply_address(tenant_id=team_a.tenant.pk, conversation_id=conv.pk), text=text)
    first = post(client, raw, secret)
    assert first.status_code == 201, first.content
    again = post(client, raw, secret)  # the provider retries its webhook
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert visitor_bodies(team_a.tenant, conv.pk) == ["Where is my order?", "Yes, please send it to my office."]


@pytest.mark.parametrize(
    ("text", "html", "expected"),
    [
        ("好的，谢谢！\n\n在 2026年11月30日 10:00，Kefu 写道：\n> 已经发货了。", False, "好的，谢谢！"),
        ("<p>Thanks a lot</p><blockquote>-----Original Message-----</blockquote>", True, "Thanks a lot"),
    ],
)
def test_quotes_are_stripped_in_chinese_and_html_mail(client, team_a, text, html, expected):
    conv = _conversation(team_a, ORIGIN_A)
    secret = rotate_inbound_secret(tenant=team_a.tenant)
    raw = raw_reply(to=reply_address(tenant_id=team_a.tenant.pk, conversation_id=conv.pk), text=text, html=html)
    assert post(client, raw, secret).status_code == 201
    assert visitor_bodies(team_a.tenant, conv.pk)[-1] == expected


def test_forged_or_foreign_mail_is_refused_and_nothing_is_stored(client, team_a, team_b):
    conv_a = _conversation(team_a, ORIGIN_A)
    conv_b = _conversation(team_b, ORIGIN_B)
    secret_a = rotate_inbound_secret(tenant=team_a.tenant)
    secret_b = rotate_inbound_secret(tenant=team_b.tenant)
    good_a = reply_address(tenant_id=team_a.tenant.pk, conversation_id=conv_a.pk)
    forged = good_a.replace(good_a.split(".")[1][:24], "0" * 24)
    cases = [
        (raw_reply(to=forged, text="forged"), secret_a, 404),  # signature does not match
        (raw_reply(to=good_a, text="wrong secret"), "not-the-secret", 403),
        (raw_reply(to=good_a, text="no secret"), "", 403),
        (raw_reply(to=good_a, text="B's secret, A's address"), secret_b, 404),
        # B's own signed address posted with A's secret: not A's conversation.
        (raw_reply(to=reply_address(tenant_id=team_b.tenant.pk, conversation_id=conv_b.pk), text="cross"), secret_a, 404),
        # A's secret, a signature made for B's tenant but naming A's conversation id.
        (raw_reply(to=reply_address(tenant_id=team_b.tenant.pk, conversation_id=conv_a.pk), text="cross 2"), secret_a, 404),
        (raw_reply(to=good_a, text="\n> only a quote"), secret_a, 400),
        (raw_reply(to=good_a, text="x" * 2_000_000), secret_a, 413),
    ]
    for raw, secret, status in cases:
        assert post(client, raw, secret).status_code == status
    assert visitor_bodies(team_a.tenant, conv_a.pk) == ["Where is my order?"]
    assert visitor_bodies(team_b.tenant, conv_b.pk) == ["Where is my order?"]
    assert client.get("/inbound/mail/", HTTP_X_KEFU_INBOUND_SECRET=secret_a).status_code == 405


def test_rotating_the_secret_retires_the_old_one(client, team_a):
    conv = _conversation(team_a, ORIGIN_A)
    old = rotate_inbound_secret(tenant=team_a.tenant)
    new = rotate_inbound_secret(tenant=team_a.tenant)
    raw = raw_reply(to=reply_address(tenant_id=team_a.tenant.pk, conversation_id=conv.pk), text="hello again")
    assert post(client, raw, old).status_code == 403
    assert post(client, raw, new).status_code == 201
