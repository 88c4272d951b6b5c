"""Several weeks of generated history for the demo tenant, so its dashboard is alive."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from chat.models import ReportingEvent
from chat.reporting import generator, rollups
from tenants.models import Membership, Tenant, Widget


class Command(BaseCommand):
    help = "Generate weeks of realistic conversation history for the demo tenant and compute its roll-ups."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", default="demo-shop")
        parser.add_argument("--days", type=int, default=42)
        parser.add_argument("--conversations", type=int, default=2500)
        parser.add_argument("--force", action="store_true", help="Add history even if the tenant has some")

    def handle(self, *args: Any, **opts: Any) -> None:
        tenant = Tenant.objects.filter(slug=opts["slug"]).first()
        if tenant is None:
            tenant = Tenant.objects.create(slug=opts["slug"], name="Demo Shop", timezone="Asia/Shanghai")
            self.stdout.write(f"created tenant {tenant.slug}")
        widgets = list(Widget.objects.for_tenant(tenant).values_list("pk", flat=True))
        if not widgets:
            import secrets

            w = Widget.objects.create(
                tenant=tenant, name="Website", public_key="pk_" + secrets.token_hex(12),
                identity_secret=secrets.token_hex(32), allowed_origins=["http://127.0.0.1:8000"],
            )
            widgets = [w.pk]
        agents = list(Membership.objects.for_tenant(tenant).values_list("pk", flat=True))
        if len(agents) < 3:
            User = get_user_model()
            for name in ("Li Na", "Wang Fang", "Zhang Wei")[: 3 - len(agents)]:
                email = name.lower().replace(" ", ".") + f"@{tenant.slug}.example.com"
                user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
                m, _ = Membership.objects.for_tenant(tenant).get_or_create(
                    tenant=tenant, user=user, defaults={"role": "agent", "display_name": name}
                )
                agents.append(m.pk)
        if ReportingEvent.objects.for_tenant(tenant).exists() and not opts["force"]:
            self.stdout.write("history already present (use --force to add more); refreshing roll-ups")
        else:
            n = generator.generate(
                tenant=tenant, widget_ids=widgets, agent_ids=agents, conversations=opts["conversations"],
                days=opts["days"], with_messages=True,
            )
            self.stdout.write(f"generated {opts['conversations']} conversations, {n} reporting events")
        result = rollups.refresh_tenant(tenant=tenant, rebuild=True)
        self.stdout.write(f"roll-ups: {result}")
