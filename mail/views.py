"""Mail pages: the inbound webhook, unsubscribe, the portal's Outbox and the member's
notification preferences."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from mail import inbound, selectors
from mail.addresses import membership_from_unsubscribe_token
from mail.models import MailStatus
from mail.outbox import mail_language
from tenants.errors import ServiceError
from tenants.models import Membership
from tenants.portal import TenantPortalView

INBOUND_SECRET_HEADER = "X-Kefu-Inbound-Secret"


@csrf_exempt  # a server-to-server webhook, authenticated by its secret header
@require_POST
def inbound_mail(request: HttpRequest) -> HttpResponse:
    """POST a raw RFC 822 message (the body) with the tenant's secret in the header."""
    tenant = inbound.tenant_for_secret(request.headers.get(INBOUND_SECRET_HEADER, ""))
    if tenant is None:
        return JsonResponse({"code": "forbidden", "message": "Unknown or missing inbound secret."}, status=403)
    if len(request.body) > settings.KEFU_MAIL_INBOUND_MAX_BYTES:
        return JsonResponse({"code": "too_large", "message": "The message is too large."}, status=413)
    try:
        message_id, duplicate = inbound.receive(tenant=tenant, raw=request.body)
    except ServiceError as exc:
        status = 404 if exc.code == "not_found" else 400
        return JsonResponse({"code": exc.code, "message": exc.message}, status=status)
    return JsonResponse({"message_id": message_id, "duplicate": duplicate}, status=200 if duplicate else 201)


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks, POST turns the member's alerts off (also RFC 8058 one-click POST)."""
    membership_id = membership_from_unsubscribe_token(token)
    # Cross-tenant by design: the signed token names the membership.
    member = Membership.all_tenants.select_related("tenant").filter(pk=membership_id).first() if membership_id else None
    if member is None:
        return render(request, "mail/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        Membership.all_tenants.filter(pk=member.pk).update(email_alerts=False)
        return render(request, "mail/unsubscribe.html", {"done": True, "member": member})
    return render(request, "mail/unsubscribe.html", {"member": member})


class OutboxView(TenantPortalView):
    """Mail this tenant sent or will send (the demo writes it to files instead of SMTP)."""

    template_name = "mail/outbox.html"
    nav_section = "outbox"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            mails=selectors.recent_mail(tenant=self.tenant),
            statuses=MailStatus,
            backend=settings.EMAIL_BACKEND.rsplit(".", 2)[-2],
            inbound_url=settings.PUBLIC_BASE_URL + reverse("mail-inbound"),
            inbound_header=INBOUND_SECRET_HEADER,
            inbound_configured=selectors.inbound_configured(tenant=self.tenant),
            new_secret=self.request.session.pop("kefu_inbound_secret", ""),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.membership.is_admin:
            return HttpResponse(_("Only owners and admins can do this."), status=403)
        if request.POST.get("op") == "rotate_inbound_secret":
            # Shown once on the next page view (the session, not the URL, carries it).
            request.session["kefu_inbound_secret"] = inbound.rotate_inbound_secret(tenant=self.tenant)
        return redirect("mail:outbox", tenant_slug=self.tenant.slug)


class NotificationsView(TenantPortalView):
    """The member's own e-mail alerts (handoff, assignment) and the language of their mail."""

    template_name = "mail/notifications.html"
    nav_section = "outbox"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        Membership.objects.for_tenant(self.tenant).filter(pk=self.membership.pk).update(
            email_alerts=request.POST.get("email_alerts") == "on",
            language=mail_language(request.POST.get("language", "")),
        )
        messages.success(request, _("Notification settings saved."))
        return redirect("mail:notifications", tenant_slug=self.tenant.slug)
