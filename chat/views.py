"""Portal pages (inbox, canned responses) and public routes (widget script, demo host page)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from chat import onboarding, selectors, services
from chat.models import Contact
from tenants import selectors as tenant_selectors
from tenants.portal import TenantPortalView, found, posted_id


class InboxView(TenantPortalView):
    template_name = "chat/inbox.html"
    nav_section = "inbox"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["inbox_config"] = {
            "tenant": self.tenant.slug,
            "membership_id": self.membership.pk,
            "api": f"/api/t/{self.tenant.slug}/",
            "ws": f"/ws/t/{self.tenant.slug}/inbox/",
            # Admins get a link to the visitor's page (export / delete their data).
            "contacts": f"/t/{self.tenant.slug}/contacts/" if self.membership.is_admin else "",
        }
        return context


class ContactView(TenantPortalView):
    """A visitor's page for privacy requests: export their data, delete it (admins)."""

    template_name = "chat/contact.html"
    nav_section = "inbox"
    admin_only = True

    def contact(self) -> Contact:
        return found(selectors.contact_get(tenant_id=self.tenant.pk, contact_id=self.kwargs["pk"]))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        contact = self.contact()
        context.update(
            contact=contact,
            conversation_count=selectors.contact_conversation_count(tenant_id=self.tenant.pk, contact_id=contact.pk),
        )
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = self.contact()
        if request.POST.get("op") != "forget":
            messages.error(request, _("Unknown action."))
            return redirect(request.path)
        done = self.run_service(request, lambda: services.forget_contact(actor=self.membership, contact_id=contact.pk))
        if done is None:
            return redirect(request.path)
        messages.success(
            request, _("Visitor data deleted: %(messages)s messages in %(conversations)s conversations.") % done
        )
        return redirect("chat:inbox", tenant_slug=self.tenant.slug)


class ContactExportView(TenantPortalView):
    """The visitor's data as a JSON download (their conversations only)."""

    admin_only = True

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        data = found(selectors.contact_export(tenant_id=self.tenant.pk, contact_id=self.kwargs["pk"]))
        response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = f'attachment; filename="visitor-{self.kwargs["pk"]}.json"'
        return response


class CannedResponsesView(TenantPortalView):
    template_name = "chat/canned.html"
    nav_section = "inbox"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["canned"] = selectors.canned_list(tenant_id=self.tenant.pk)
        context["labels"] = selectors.label_list(tenant_id=self.tenant.pk)
        return context

    def op_canned(self, request: HttpRequest, post: Any) -> None:
        self.run_service(
            request,
            lambda: services.create_canned_response(
                actor=self.membership, shortcut=post.get("shortcut", ""), text=post.get("text", "")
            ),
            _("Canned response saved."),
        )

    def op_delete_canned(self, request: HttpRequest, post: Any) -> None:
        self.run_service(
            request, lambda: services.delete_canned_response(actor=self.membership, canned_id=posted_id(request, "id"))
        )

    def op_label(self, request: HttpRequest, post: Any) -> None:
        self.run_service(
            request,
            lambda: services.create_label(
                actor=self.membership, name=post.get("name", ""), color=post.get("color", "#64748b")
            ),
            _("Label saved."),
        )

    def op_delete_label(self, request: HttpRequest, post: Any) -> None:
        self.run_service(request, lambda: services.delete_label(actor=self.membership, label_id=posted_id(request, "id")))


@require_GET
def widget_js(request: HttpRequest) -> HttpResponse:
    path = finders.find("chat/widget.js")
    if not path:
        raise Http404
    with open(path, encoding="utf-8") as fh:  # type: ignore[arg-type]
        body = fh.read()
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def demo_home(request: HttpRequest) -> HttpResponse:
    """/demo/: the seeded demo shop's host page (`manage.py seed_demo`)."""
    widget = tenant_selectors.demo_widget()
    if widget is None:
        raise Http404("No demo tenant: run `python manage.py seed_demo`.")
    return redirect("widget-demo", public_key=widget.public_key)


def demo_host(request: HttpRequest, public_key: str) -> HttpResponse:
    """A stand-in customer site with the widget snippet (for demos; real sites paste the snippet)."""
    widget = tenant_selectors.widget_by_public_key(public_key=public_key)
    if widget is None:
        raise Http404
    # The stand-in site's own language (?lang=zh-CN shows how the widget follows a page's
    # lang); by default the language the page itself is rendered in.
    page_lang = request.GET.get("lang", "")
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?", page_lang):
        page_lang = get_language() or "en"
    return render(
        request,
        "chat/demo_host.html",
        {"widget": widget, "public_base_url": settings.PUBLIC_BASE_URL, "page_lang": page_lang},
    )


class StartView(TenantPortalView):
    """The onboarding checklist a new tenant lands on after sign-up (live state, chat.onboarding)."""

    template_name = "chat/start.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        items = onboarding.onboarding_checklist(tenant=self.tenant)
        context.update(items=items, all_done=all(item.done for item in items))
        return context
