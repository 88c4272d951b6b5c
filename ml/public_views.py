"""Public (no login) routes of ml: published articles behind citation links, and the demo
shop's tiny order API that the demo tenant's "order_status" action calls."""

from __future__ import annotations

import re

import markdown
import nh3
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from ml import selectors
from tenants.models import Tenant

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "h1", "h2", "h3", "h4", "code", "pre", "blockquote",
                "a", "table", "thead", "tbody", "tr", "th", "td", "hr"}


def render_markdown(text: str) -> str:
    """Markdown -> sanitised HTML (nh3): no scripts, no event handlers, safe links only."""
    html = markdown.markdown(text or "", extensions=["tables", "fenced_code"])
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}}, url_schemes={"http", "https", "mailto"})


@require_GET
def public_article(request: HttpRequest, help_slug: str, article_id: int) -> HttpResponse:
    tenant = Tenant.objects.filter(slug=help_slug).first()
    article = selectors.public_article(tenant=tenant, article_id=article_id) if tenant else None
    if article is None:
        raise Http404
    return render(request, "ml/public_article.html", {
        "tenant_name": tenant.name if tenant else "", "article": article,
        "body_html": mark_safe(render_markdown(article.body)),  # noqa: S308 - sanitised by nh3 above
    })


# --- demo order API (used by the seeded demo tenant's action) ---------------------------------

DEMO_ORDERS = {
    "1001": {"status": "shipped", "carrier": "DHL", "tracking_number": "JD0146000012345", "eta": "2 business days",
             "items": ["Wireless headphones"], "customer_email": "alice@example.com"},
    "1002": {"status": "processing", "carrier": "", "tracking_number": "", "eta": "ships within 1 business day",
             "items": ["Coffee grinder", "Filter papers"], "customer_email": "bob@example.com"},
    "1003": {"status": "delivered", "carrier": "UPS", "tracking_number": "1Z999AA10123456784", "eta": "delivered",
             "items": ["Running shoes"], "customer_email": "alice@example.com"},
}


@require_GET
def demo_order(request: HttpRequest, order_number: str) -> JsonResponse:
    order = DEMO_ORDERS.get(order_number) if re.fullmatch(r"[0-9A-Za-z-]{1,20}", order_number) else None
    if order is None:
        return JsonResponse({"error": "order not found"}, status=404)
    public = {k: v for k, v in order.items() if k != "customer_email"}
    # The identity header comes only from a verified visitor (ml.actions); echo whether it matched.
    verified_email = request.headers.get("X-Kefu-User-Email", "")
    return JsonResponse({"order_number": order_number, **public,
                         "verified_customer": bool(verified_email) and verified_email == order["customer_email"]})
