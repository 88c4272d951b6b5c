"""Portal pages for sign-up, members and settings. Thin: parse, call one service, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tenants import login_throttle, origins, selectors, services
from tenants.errors import ServiceError
from tenants.models import Role
from tenants.portal import TenantPortalView, posted_id
from tenants.widget_hours import set_widget_hours


def home(request: HttpRequest) -> HttpResponse:
    """Send a logged-in user to their last (or first) tenant."""
    if not request.user.is_authenticated:
        return redirect("login")
    memberships = list(selectors.memberships_for_user(user=request.user))
    if not memberships:
        return render(request, "tenants/no_tenant.html")
    last = request.session.get("last_tenant")
    slug = next((m.tenant.slug for m in memberships if m.tenant.slug == last), memberships[0].tenant.slug)
    return redirect("portal-home", tenant_slug=slug)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            user, tenant = services.sign_up(
                email=request.POST.get("email", ""),
                password=request.POST.get("password", ""),
                business_name=request.POST.get("business_name", ""),
                full_name=request.POST.get("full_name", ""),
            )
        except ServiceError as exc:
            return render(request, "tenants/signup.html", {"error": exc.message, "form": request.POST}, status=400)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to Kefu! Create a widget to start chatting."))
        # The onboarding checklist (chat:start; a URL name, not an import of chat).
        return redirect("chat:start", tenant_slug=tenant.slug)
    return render(request, "tenants/signup.html", {"form": {}})


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_for_token(token=token)
    if invitation is None:
        return render(request, "tenants/invitation.html", {"invalid": True}, status=404)
    if request.method == "POST":
        return _accept_invitation_post(request, token, invitation)
    return render(request, "tenants/invitation.html", {"invitation": invitation})


def _accept_invitation_post(request: HttpRequest, token: str, invitation: Any) -> HttpResponse:
    try:
        if request.user.is_authenticated:
            user = request.user
        else:  # a new user creates an account right on the invitation page
            email = request.POST.get("email") or invitation.email
            services.check_invitation_email(invitation=invitation, email=email)  # before an account exists
            user = services.create_account(
                email=email,
                password=request.POST.get("password", ""),
                full_name=request.POST.get("full_name", ""),
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        membership = services.accept_invitation(token=token, user=user)
    except ServiceError as exc:
        if exc.code == "email_taken":
            messages.error(request, exc.message)
            return redirect(f"{reverse('login')}?next={request.path}")
        return render(request, "tenants/invitation.html", {"invitation": invitation, "error": exc.message}, status=400)
    return redirect("portal-home", tenant_slug=membership.tenant.slug)


class LoginView(auth_views.LoginView):
    """Django's log-in page behind per-account and per-address throttling (429 while
    locked out, whatever the password)."""

    template_name = "tenants/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        attempt = login_throttle.begin(
            username=request.POST.get("username", ""), ip=request.META.get("REMOTE_ADDR", "")
        )
        if attempt.refused:
            minutes = max(1, round(attempt.refused_for_s / 60))
            message = _("Too many failed log-ins. Try again in %(minutes)s minutes.") % {"minutes": minutes}
            response = self.render_to_response(self.get_context_data(throttled=message), status=429)
            response["Retry-After"] = str(attempt.refused_for_s)
            return response
        response = super().post(request, *args, **kwargs)
        login_throttle.finish(attempt, succeeded=request.user.is_authenticated)
        return response


class PortalHomeView(TenantPortalView):
    """The tenant's landing page: the inbox when it exists, otherwise settings."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        for name in ("chat:inbox", "tenants:settings"):
            try:
                return redirect(name, tenant_slug=self.tenant.slug)
            except Exception:  # noqa: BLE001 - route not installed yet
                continue
        raise Http404


class MembersView(TenantPortalView):
    template_name = "tenants/members.html"
    nav_section = "members"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            members=selectors.member_list(tenant=self.tenant),
            invitations=selectors.pending_invitations(tenant=self.tenant) if self.membership.is_admin else [],
            roles=Role.choices,
        )
        return context

    def op_invite(self, request: HttpRequest, post: Any) -> None:
        result = self.run_service(
            request,
            lambda: services.create_invitation(
                actor=self.membership, role=post.get("role", ""), email=post.get("email", "")
            ),
        )
        if result:
            _invitation, token = result
            link = settings.PUBLIC_BASE_URL + reverse("accept-invitation", args=[token])
            messages.success(request, _("Invitation link (shown once): %(link)s") % {"link": link})

    def op_role(self, request: HttpRequest, post: Any) -> None:
        membership_id = posted_id(request, "membership_id")
        self.run_service(
            request,
            lambda: services.change_role(actor=self.membership, membership_id=membership_id, role=post.get("role", "")),
            _("Role changed."),
        )

    def op_remove(self, request: HttpRequest, post: Any) -> HttpResponse | None:
        membership_id = posted_id(request, "membership_id")
        self.run_service(
            request,
            lambda: services.remove_member(actor=self.membership, membership_id=membership_id),
            _("Member removed."),
        )
        return redirect("home") if membership_id == self.membership.pk else None

    def op_revoke(self, request: HttpRequest, post: Any) -> None:
        invitation_id = posted_id(request, "invitation_id")
        self.run_service(
            request,
            lambda: services.revoke_invitation(actor=self.membership, invitation_id=invitation_id),
            _("Invitation revoked."),
        )


class SettingsView(TenantPortalView):
    template_name = "tenants/settings.html"
    nav_section = "settings"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        widgets = list(selectors.widget_list(tenant=self.tenant))
        context.update(
            widgets=widgets,
            refused_origins=origins.last_refused_origins(widgets=widgets),
            api_keys=selectors.api_key_list(tenant=self.tenant) if self.membership.is_admin else [],
            public_base_url=settings.PUBLIC_BASE_URL,
        )
        return context

    def op_create_widget(self, request: HttpRequest, post: Any) -> None:
        result = self.run_service(
            request,
            lambda: services.create_widget(
                actor=self.membership,
                name=post.get("name", ""),
                allowed_origins=post.get("allowed_origins", ""),
                color=post.get("color", "#2563eb"),
                greeting=post.get("greeting", ""),
                locale=post.get("locale", "auto"),
            ),
        )
        if result:
            messages.success(
                request,
                _("Widget created. Identity secret (shown once, keep it on your server): %(secret)s")
                % {"secret": result[1]},
            )

    def op_update_widget(self, request: HttpRequest, post: Any) -> None:
        self.run_service(
            request,
            lambda: services.update_widget(
                actor=self.membership,
                widget_id=posted_id(request, "widget_id"),
                name=post.get("name", ""),
                allowed_origins=post.get("allowed_origins", ""),
                color=post.get("color", ""),
                greeting=post.get("greeting", ""),
                locale=post.get("locale", "auto"),
            ),
            _("Widget saved."),
        )

    def op_widget_hours(self, request: HttpRequest, post: Any) -> None:
        self.run_service(
            request,
            lambda: set_widget_hours(
                actor=self.membership,
                widget_id=posted_id(request, "widget_id"),
                time_zone=post.get("time_zone", ""),
                schedule=post.get("business_hours", ""),
                holidays=post.get("holidays", ""),
                away_message=post.get("away_message", ""),
            ),
            _("Business hours saved."),
        )

    def op_rotate_secret(self, request: HttpRequest, post: Any) -> None:
        secret = self.run_service(
            request,
            lambda: services.rotate_widget_secret(actor=self.membership, widget_id=posted_id(request, "widget_id")),
        )
        if secret:
            messages.success(request, _("New identity secret (shown once): %(secret)s") % {"secret": secret})

    def op_create_api_key(self, request: HttpRequest, post: Any) -> None:
        result = self.run_service(
            request, lambda: services.create_api_key(actor=self.membership, name=post.get("name", ""))
        )
        if result:
            messages.success(request, _("API key (shown once): %(key)s") % {"key": result[1]})

    def op_retention(self, request: HttpRequest, post: Any) -> None:
        days = posted_id(request, "retention_days") if post.get("retention_days", "").strip() else None
        self.run_service(
            request, lambda: services.set_retention(actor=self.membership, days=days), _("Retention saved.")
        )

    def op_revoke_api_key(self, request: HttpRequest, post: Any) -> None:
        self.run_service(
            request,
            lambda: services.revoke_api_key(actor=self.membership, api_key_id=posted_id(request, "api_key_id")),
            _("API key revoked."),
        )
