"""The one base for server-rendered portal pages under /t/<tenant_slug>/.

`TenantPortalView.dispatch` resolves the membership before any handler runs; a
non-member gets the same 404 as a missing tenant. Subclasses may not override dispatch.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, TypeVar

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic.base import ContextMixin, TemplateResponseMixin

from tenants import selectors
from tenants.errors import ServiceError
from tenants.models import ADMIN_ROLES, Membership, Tenant

_T = TypeVar("_T")

_ID = re.compile(r"[0-9]{1,18}")


def posted_id(request: HttpRequest, name: str) -> int:
    """A row id (or other whole number) from the posted form; missing or not a number ->
    400 naming the field (the page's dispatch answers BadRequest with its message)."""
    raw = (request.POST.get(name) or "").strip()
    if not _ID.fullmatch(raw):
        raise BadRequest(_("The form field %(field)s must be a whole number.") % {"field": name})
    return int(raw)


def found(value: _T | None) -> _T:
    """What a selector found, or the page's 404 when it found nothing."""
    if value is None:
        raise Http404
    return value


class TenantPortalView(TemplateResponseMixin, ContextMixin, View):
    admin_only: ClassVar[bool] = False
    nav_section: ClassVar[str] = ""
    membership: Membership

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "dispatch" in cls.__dict__:
            raise TypeError(f"{cls.__name__} may not override dispatch(): tenant resolution lives there")

    @property
    def tenant(self) -> Tenant:
        return self.membership.tenant

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = selectors.membership_for(user=request.user, tenant_slug=kwargs["tenant_slug"])
        if membership is None:
            raise Http404
        self.membership = membership
        request.tenant = membership.tenant  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        request.session["last_tenant"] = membership.tenant.slug
        if self.admin_only and membership.role not in ADMIN_ROLES:
            return HttpResponseForbidden("Only owners and admins can open this page.")
        try:
            return super().dispatch(request, *args, **kwargs)
        except BadRequest as exc:  # a malformed form: say what was wrong, change nothing
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(tenant=self.tenant, membership=self.membership, nav_section=self.nav_section)
        return context

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """A form names its operation in `op` (dashes read as underscores): the page's
        `op_<op>(request, post)` handles it and may answer (a redirect elsewhere); otherwise,
        and after an unknown op, back to this page."""
        op = request.POST.get("op", "").replace("-", "_")
        handler = getattr(self, f"op_{op}", None) if op.isidentifier() else None
        if handler is None:
            messages.error(request, _("Unknown action."))
            return redirect(request.path)
        return handler(request, request.POST) or redirect(request.path)

    def run_service(self, request: HttpRequest, call: Any, success: str | None = None) -> Any:
        """Call a service; a ServiceError becomes an error message instead of a 500."""
        try:
            result = call()
        except ServiceError as exc:
            messages.error(request, exc.message)
            return None
        if success:
            messages.success(request, success)
        return result if result is not None else True
