"""`python manage.py seed_demo`: the demo shop (idempotent; safe to run again)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from ml import demo, services
from ml.models import Action, ArticleStatus, Intent, KnowledgeArticle
from tenants import services as tenant_services
from tenants.models import Membership, Role, Tenant, Widget

DEMO_SLUG = "demo-shop"
DEMO_EMAIL = "owner@demo-shop.example.com"
DEMO_PASSWORD = "kefu-demo-2026"
DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000", "http://127.0.0.1:8001"]


class Command(BaseCommand):
    help = "Create the Demo Shop tenant with an owner, a widget, knowledge, intents, a policy and an order action."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD)

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        user = User.objects.filter(username=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(username=DEMO_EMAIL, email=DEMO_EMAIL, password=options["password"],
                                            first_name="Demo", last_name="Owner")
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            tenant = Tenant.objects.create(name="Demo Shop", slug=DEMO_SLUG)
        owner = Membership.objects.for_tenant(tenant).filter(user=user).first()
        if owner is None:
            owner = Membership.objects.create(tenant=tenant, user=user, role=Role.OWNER)

        widget = Widget.objects.for_tenant(tenant).order_by("pk").first()
        secret_note = "(unchanged; rotate it in Settings to see a new one)"
        if widget is None:
            widget, secret = tenant_services.create_widget(
                actor=owner, name="Demo Shop website", allowed_origins=DEMO_ORIGINS,
                greeting="Hi! I'm the Demo Shop assistant. Ask me about returns, shipping or your order.")
            secret_note = secret
        elif set(DEMO_ORIGINS) - set(widget.allowed_origins):
            widget.allowed_origins = sorted(set(widget.allowed_origins) | set(DEMO_ORIGINS))
            widget.save(update_fields=["allowed_origins"])

        existing = set(KnowledgeArticle.objects.for_tenant(tenant).filter(deleted_at__isnull=True)
                       .values_list("title", flat=True))
        for a in [*demo.DEMO_ARTICLES, *demo.DEMO_ARTICLES_ZH]:
            if a["title"] not in existing:
                services.create_article(actor=owner, title=str(a["title"]), body=str(a["body"]),
                                        tags=list(a["tags"]), status=ArticleStatus.PUBLISHED,  # type: ignore[call-overload]
                                        language=str(a.get("language", "en")))
        intents = set(Intent.objects.for_tenant(tenant).values_list("name", flat=True))
        for i in demo.DEMO_INTENTS:
            if i["name"] not in intents:
                services.create_intent(actor=owner, name=str(i["name"]), description=str(i["description"]),
                                       escalates=bool(i["escalates"]), examples=list(i["examples"]))  # type: ignore[call-overload]
        # Embed now (the queued tasks then find nothing to do), so the demo answers at once.
        for article_id in KnowledgeArticle.objects.for_tenant(tenant).filter(
                deleted_at__isnull=True, status=ArticleStatus.PUBLISHED).values_list("pk", flat=True):
            services.embed_article(tenant_id=tenant.pk, article_id=article_id)
        services.update_policy(actor=owner, **demo.DEMO_POLICY)
        spec: dict[str, Any] = dict(demo.DEMO_ORDER_ACTION)
        spec["url_template"] = spec["url_template"].replace("{base}", settings.PUBLIC_BASE_URL)
        action = Action.objects.for_tenant(tenant).filter(name=spec["name"]).first()
        if action is None:
            services.create_action(actor=owner, **spec)
        else:
            services.update_action(actor=owner, action_id=action.pk, **spec)

        self.stdout.write(self.style.SUCCESS("Demo Shop is ready."))
        self.stdout.write(f"  portal:    /t/{DEMO_SLUG}/   log in as {DEMO_EMAIL} / {options['password']}")
        self.stdout.write(f"  widget:    public key {widget.public_key}; identity secret {secret_note}")
        self.stdout.write(f"  origins:   {', '.join(widget.allowed_origins)}")
        self.stdout.write(f"  order API: {settings.PUBLIC_BASE_URL}/demo-api/orders/1001 (orders 1001, 1002, 1003); run the "
                          "server with KEFU_ACTION_ALLOWED_HOSTS=127.0.0.1:8000 so the action may call it")
