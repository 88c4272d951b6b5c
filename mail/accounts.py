"""Account mail: e-mail verification at sign-up and password reset (Django's own
PasswordResetView etc., whose form here queues the mail instead of sending it inline)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.views.decorators.http import require_GET

from mail.models import EmailVerification, MailKind
from mail.outbox import Draft, mail_language, queue_mail


class _VerifyEmailTokens(PasswordResetTokenGenerator):
    key_salt = "kefu.mail.verify-email"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        # Spent once the address is verified, void when the address changes.
        verified = EmailVerification.objects.filter(user_id=user.pk).values_list("verified_at", flat=True).first()
        return f"{user.pk}{user.email}{verified}{timestamp}"


verify_tokens = _VerifyEmailTokens()


def queue_verification(*, user: Any) -> None:
    if not user.email:
        return
    EmailVerification.objects.get_or_create(user_id=user.pk)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = settings.PUBLIC_BASE_URL + reverse("verify-email", args=[uid, verify_tokens.make_token(user)])
    queue_mail(
        Draft(kind=MailKind.VERIFY_EMAIL, key=f"{user.pk}:{user.email}", recipient=user.email,
              language=mail_language(translation.get_language() or ""), context={"link": link, "user": user})
    )


def is_verified(*, user: Any) -> bool:
    return EmailVerification.objects.filter(user_id=user.pk, verified_at__isnull=False).exists()


@require_GET
def verify_email(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        user = get_user_model().objects.filter(pk=int(force_str(urlsafe_base64_decode(uidb64)))).first()
    except (TypeError, ValueError, OverflowError):
        user = None
    if user is None or not verify_tokens.check_token(user, token):
        return render(request, "mail/verify_email.html", {"invalid": True}, status=400)
    EmailVerification.objects.update_or_create(user_id=user.pk, defaults={"verified_at": timezone.now()})
    return render(request, "mail/verify_email.html", {"email": user.email})


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's form, mail through the outbox (sent by the `default` queue, once)."""

    def send_mail(self, subject_template_name: str, email_template_name: str, context: dict[str, Any],
                  from_email: str | None, to_email: str, html_email_template_name: str | None = None) -> None:
        link = settings.PUBLIC_BASE_URL + reverse(
            "password_reset_confirm", kwargs={"uidb64": context["uid"], "token": context["token"]}
        )
        queue_mail(
            Draft(kind=MailKind.PASSWORD_RESET, key=f"{context['uid']}:{context['token']}", recipient=to_email,
                  language=mail_language(translation.get_language() or ""), context={"link": link, "user": context["user"]})
        )
