"""The demo tenant's dashboard in headless Chromium: charts filled, numbers link to lists.
Screenshots: screenshots/dashboard-*.png."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tenants.models import Membership, Tenant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def test_demo_dashboard_is_filled(browser, live_server, team_b):
    call_command("seed_demo_history", conversations=900, days=42, verbosity=0)
    tenant = Tenant.objects.get(slug="demo-shop")
    user = get_user_model().objects.create_user(username="owner@demo.example", email="owner@demo.example", password="x-demo-pass-1")
    Membership.objects.create(tenant=tenant, user=user, role="owner")
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/t/demo-shop/dashboards/?days=42")
    page.wait_for_selector("body[data-charts=ready]")
    for chart in ("chart-volume", "chart-rates", "chart-times", "chart-sentiment", "chart-frt-hist", "chart-res-hist"):
        assert page.locator(f"#{chart} svg rect, #{chart} svg circle").count() > 3, chart
    total = int(page.text_content("a.rp-big[data-metric=conversations]"))
    assert total > 700
    page.screenshot(path=str(SCREENSHOTS / "dashboard-demo.png"), full_page=True)
    page.select_option("select[name=group]", "week")
    page.click("form.rp-filters button[type=submit]")
    page.wait_for_selector("body[data-charts=ready]")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-demo-weekly.png"), full_page=True)
    # A number opens the list of exactly that many conversations.
    shown = page.text_content("a[data-metric=handed_off]")
    page.click("a[data-metric=handed_off]")
    page.wait_for_selector(".rp-count")
    assert page.get_attribute(".rp-count", "data-total") == shown
    assert re.match(r"\d+", shown or "")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-drilldown.png"), full_page=False)
    context.close()
