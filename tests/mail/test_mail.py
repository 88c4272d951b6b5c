"""Mail against a real SMTP server on loopback (tests/mail/conftest.py): recipients,
subject, body language, no other tenant's data, one mail per event when retried."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from chat import services
from chat.models import Conversation
from mail import notify, outbox
from mail.models import MailKind, MailStatus, OutboundMail
from mail.tasks import send_mail
from tenants import services as tenant_services
from tests.chat.conftest import ORIGIN_A, ORIGIN_B, make_widget

pytestmark = pytest.mark.django_db


def _visitor_conversation(team, origin: str, *, email: str, language: str, text: str):
    info = make_widget(team, origin)
    contact = services.resolve_visitor(widget=info.widget, language=language)
    if email:
        services.set_contact_email(contact=contact, email=email)
        contact.refresh_from_db()
    posted = services.send_visitor_message(contact=contact, body=text, client_msg_id=f"c-{contact.pk}")
    return contact, posted.conversation


def _due_now(**filters) -> list[OutboundMail]:
    rows = list(OutboundMail.all_tenants.filter(**filters))
    OutboundMail.all_tenants.filter(pk__in=[r.pk for r in rows]).update(due_at=timezone.now())
    return rows


def _send_all(**filters) -> None:
    for row in _due_now(**filters):
        send_mail.apply(args=[row.pk])


def test_agent_reply_reaches_the_offline_visitor_once_in_their_language(smtp, team_a, team_b, settings):
    settings.KEFU_MAIL_REPLY_DELAY_S = 60
    _b_contact, b_conv = _visitor_conversation(team_b, ORIGIN_B, email="b@visitor.test", language="en", text="bravo secret order 999")
    services.agent_send(actor=team_b.agent, conversation_id=b_conv.pk, body="bravo answer")
    contact, conv = _visitor_conversation(team_a, ORIGIN_A, email="wang@visitor.test", language="zh-CN", text="我的订单在哪里？")
    posted = services.agent_send(actor=team_a.agent, conversation_id=conv.pk, body="已经发货了。")

    row = OutboundMail.objects.for_tenant(team_a.tenant).get(kind=MailKind.REPLY)
    assert row.status == MailStatus.PENDING and row.due_at > timezone.now()  # waits to see if the visitor reads it
    assert row.key == f"message:{posted.message.pk}"
    _send_all(tenant_id=team_a.tenant.pk)
    send_mail.apply(args=[row.pk])  # a retried / redelivered task
    send_mail.apply(args=[row.pk])

    mails = smtp.to("wang@visitor.test")
    assert len(mails) == 1 and len(smtp.received) == 1  # only A's task ran; once
    mail = mails[0]
    assert mail.message["Subject"] == f"{team_a.tenant.name} 回复了您的消息"
    assert "已经发货了。" in mail.body and "我的订单在哪里？" in mail.body and "对话记录" in mail.body
    assert "bravo" not in mail.body
    reply_to = mail.message["Reply-To"]
    assert re.fullmatch(rf"reply\+{conv.pk}\.[0-9a-f]{{24}}@reply\.kefu\.test", reply_to)
    assert "List-Unsubscribe" not in mail.message  # a reply the visitor asked for is transactional
    row.refresh_from_db()
    assert row.status == MailStatus.SENT and row.attempts == 1


def test_a_reply_the_visitor_read_in_the_widget_is_not_mailed(smtp, team_a, settings):
    settings.KEFU_MAIL_REPLY_DELAY_S = 60
    contact, conv = _visitor_conversation(team_a, ORIGIN_A, email="v@visitor.test", language="en", text="hello")
    posted = services.agent_send(actor=team_a.agent, conversation_id=conv.pk, body="hi there")
    services.visitor_read(contact=contact, conversation_id=conv.pk, seq=posted.message.seq)
    _send_all(tenant_id=team_a.tenant.pk)
    assert smtp.received == []
    assert OutboundMail.objects.for_tenant(team_a.tenant).get().status == MailStatus.SKIPPED


def test_a_failed_send_is_retried_and_still_sent_once(smtp, team_a, settings):
    settings.KEFU_MAIL_REPLY_DELAY_S = 60
    _contact, conv = _visitor_conversation(team_a, ORIGIN_A, email="v@visitor.test", language="en", text="hello")
    services.agent_send(actor=team_a.agent, conversation_id=conv.pk, body="answer")
    row = _due_now(tenant_id=team_a.tenant.pk)[0]
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = smtp.port + 1 if smtp.port < 65535 else smtp.port - 1  # nothing listens there
    with pytest.raises(OSError):
        outbox.deliver(mail_id=row.pk)
    row.refresh_from_db()
    assert row.status == MailStatus.PENDING and row.attempts == 1 and row.last_error and row.due_at > timezone.now()
    assert outbox.deliver(mail_id=row.pk) == MailStatus.PENDING  # not due yet: backoff
    settings.EMAIL_PORT = good_port
    _send_all(pk=row.pk)
    _send_all(pk=row.pk)
    assert len(smtp.received) == 1
    row.refresh_from_db()
    assert row.status == MailStatus.SENT and row.attempts == 2


def test_same_event_queued_twice_gives_one_row(team_a):
    contact, conv = _visitor_conversation(team_a, ORIGIN_A, email="v@visitor.test", language="en", text="hello")
    conv = Conversation.objects.for_tenant(team_a.tenant).get(pk=conv.pk)
    assert notify.transcript_requested(contact=contact, conversation=conv)
    assert notify.transcript_requested(contact=contact, conversation=conv)
    assert OutboundMail.objects.for_tenant(team_a.tenant).filter(kind=MailKind.TRANSCRIPT).count() == 1


def test_transcript_on_request_in_english(smtp, team_a, team_b):
    _visitor_conversation(team_b, ORIGIN_B, email="v@visitor.test", language="en", text="bravo private words")
    contact, conv = _visitor_conversation(team_a, ORIGIN_A, email="v@visitor.test", language="en-GB", text="where is my parcel")
    services.agent_send(actor=team_a.agent, conversation_id=conv.pk, body="on its way")
    conv.refresh_from_db()
    notify.transcript_requested(contact=contact, conversation=conv)
    _send_all(tenant_id=team_a.tenant.pk, kind=MailKind.TRANSCRIPT)
    (mail,) = smtp.to("v@visitor.test")
    assert mail.message["Subject"] == f"Your conversation with {team_a.tenant.name}"
    assert "where is my parcel" in mail.body and "on its way" in mail.body and "bravo" not in mail.body


def test_handoff_alerts_members_who_keep_alerts_on(smtp, client, team_a, team_b):
    team_a.agent.email_alerts = False
    team_a.agent.save()
    team_a.admin.language = "zh-hans"
    team_a.admin.save()
    contact, conv = _visitor_conversation(team_a, ORIGIN_A, email="", language="en", text="I need a human")
    services.request_human(contact=contact, conversation_id=conv.pk)
    _send_all(tenant_id=team_a.tenant.pk)
    recipients = sorted(r for m in smtp.received for r in m.rcpt_tos)
    assert recipients == sorted([team_a.owner.user.email, team_a.admin.user.email])
    owner_mail = smtp.to(team_a.owner.user.email)[0]
    assert owner_mail.message["Subject"] == f"[{team_a.tenant.name}] Conversation #{conv.pk} needs a person"
    assert "Visitor asked for a person" in owner_mail.body and "I need a human" in owner_mail.body
    admin_mail = smtp.to(team_a.admin.user.email)[0]
    assert "需要人工" in admin_mail.message["Subject"]
    # Not transactional: an unsubscribe link, which turns this member's alerts off.
    unsubscribe = str(owner_mail.message["List-Unsubscribe"]).strip().strip("<>")
    assert unsubscribe in owner_mail.body
    path = unsubscribe.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200
    assert client.post("/" + path).status_code == 200
    team_a.owner.refresh_from_db()
    assert team_a.owner.email_alerts is False
    assert client.post("/mail/unsubscribe/forged-token/").status_code == 404


def test_assignment_alerts_the_assignee_only(smtp, team_a):
    contact, conv = _visitor_conversation(team_a, ORIGIN_A, email="", language="en", text="help")
    services.assign(actor=team_a.admin, conversation_id=conv.pk, membership_id=team_a.agent.pk)
    services.assign(actor=team_a.agent, conversation_id=conv.pk, membership_id=None)
    services.assign(actor=team_a.agent, conversation_id=conv.pk, membership_id=team_a.agent.pk)  # took it: no mail
    _send_all(tenant_id=team_a.tenant.pk)
    (mail,) = smtp.received
    assert mail.rcpt_tos == [team_a.agent.user.email]
    assert mail.message["Subject"] == f"[{team_a.tenant.name}] Conversation #{conv.pk} was assigned to you"


def test_invitation_is_mailed_with_its_link(smtp, client, team_a):
    invitation, token = tenant_services.create_invitation(actor=team_a.owner, role="agent", email="new@agent.test")
    tenant_services.create_invitation(actor=team_a.owner, role="agent")  # link only: no mail
    _send_all(kind=MailKind.INVITATION)
    (mail,) = smtp.received
    assert mail.rcpt_tos == ["new@agent.test"] and team_a.tenant.name in mail.message["Subject"]
    assert f"/invite/{token}/" in mail.body
    assert OutboundMail.objects.for_tenant(team_a.tenant).get().body == ""  # the one-time link is not kept


def test_signup_sends_a_verification_link_that_works_once(smtp, client):
    response = client.post("/signup/", {"email": "founder@shop.test", "password": "a-long-passphrase-1",
                                        "business_name": "Shop", "full_name": "Fay"})
    assert response.status_code == 302
    _send_all(kind=MailKind.VERIFY_EMAIL)
    (mail,) = smtp.to("founder@shop.test")
    link = re.search(r"https?://\S+/verify-email/\S+/", mail.body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert "is confirmed" in client.get(path).content.decode()
    assert client.get(path).status_code == 400  # spent


def test_password_reset_through_djangos_views(smtp, client, team_a):
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    response = client.post("/password-reset/", {"email": team_a.agent.user.email})
    assert response.status_code == 302
    client.post("/password-reset/", {"email": "nobody@nowhere.test"})  # same answer, no mail
    _send_all(kind=MailKind.PASSWORD_RESET)
    (mail,) = smtp.received
    assert mail.rcpt_tos == [team_a.agent.user.email]
    assert mail.message["Subject"] == "重置您的 Kefu 密码"
    link = re.search(r"https?://\S+/reset/\S+/", mail.body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    response = client.get(path, follow=True)
    response = client.post(response.redirect_chain[-1][0], {"new_password1": "brand-new-pass-42", "new_password2": "brand-new-pass-42"})
    assert response.status_code == 302
    team_a.agent.user.refresh_from_db()
    assert team_a.agent.user.check_password("brand-new-pass-42")


def test_forgetting_a_visitor_deletes_their_mail(team_a, team_b, settings):
    settings.KEFU_MAIL_REPLY_DELAY_S = 60
    contact, conv = _visitor_conversation(team_a, ORIGIN_A, email="gone@visitor.test", language="en", text="hello")
    services.agent_send(actor=team_a.agent, conversation_id=conv.pk, body="answer")
    conv.refresh_from_db()
    notify.transcript_requested(contact=contact, conversation=conv)
    _b_contact, b_conv = _visitor_conversation(team_b, ORIGIN_B, email="stays@visitor.test", language="en", text="hi")
    services.agent_send(actor=team_b.agent, conversation_id=b_conv.pk, body="answer")
    assert OutboundMail.objects.for_tenant(team_a.tenant).count() == 2
    services.forget_contact(actor=team_a.owner, contact_id=contact.pk)
    assert OutboundMail.objects.for_tenant(team_a.tenant).count() == 0
    assert OutboundMail.objects.for_tenant(team_b.tenant).count() == 1
