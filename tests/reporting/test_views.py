"""Portal pages, CSV exports and the JSON API (OpenAPI) of the dashboards."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html import unescape

import pytest
from django.urls import reverse

from chat.reporting import generator, rollups, selectors
from tests.reporting.helpers import History, at, widget

S = dt.timedelta(seconds=1)


@pytest.fixture
def small(team_a, team_b):
    tenant = team_a.tenant
    h = History(tenant, widget(tenant))
    t0 = at(2024, 3, 4, 2)
    for i in range(4):
        x = h.conversation(t0 + dt.timedelta(hours=i))
        h.bot(x, t0 + dt.timedelta(hours=i) + 5 * S, "order_status" if i % 2 else "refund_request")
        if i == 3:
            h.ev(x, "handoff", t0 + dt.timedelta(hours=i) + 9 * S, reason="no_answer")
            h.human(x, t0 + dt.timedelta(hours=i) + 69 * S, team_a.agent.pk)
        else:
            h.resolve(x, t0 + dt.timedelta(hours=i) + 60 * S)
    rollups.refresh_tenant(tenant=tenant, now=at(2024, 3, 10))
    return tenant


Q = "?from=2024-03-01&to=2024-03-07"


@pytest.mark.django_db
def test_dashboard_page_numbers_link_to_lists_of_that_size(client, team_a, small):
    client.force_login(team_a.agent.user)
    url = reverse("reporting:dashboard", args=[small.slug]) + Q
    body = client.get(url).content.decode()
    assert "Dashboards" in body and "75.0%" in body  # AI resolution 3 / 4
    links = re.findall(r'data-metric="(\w+)" href="([^"]+)">(\d+)</a>', body)
    assert len(links) >= 12
    for metric, href, shown in links:
        page = client.get(unescape(href))
        assert page.status_code == 200
        total = re.search(r'data-total="(\d+)"', page.content.decode()).group(1)
        rows = page.content.decode().count("data-conversation=")
        assert int(total) == int(shown) == rows, (metric, href)


@pytest.mark.django_db
def test_csv_exports(client, team_a, small):
    client.force_login(team_a.owner.user)
    resp = client.get(reverse("reporting:export", args=[small.slug]) + Q)
    assert resp["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.content.decode())))
    assert rows[0][0] == "period" and rows[-1][0] == "total" and rows[-1][1] == "4"
    assert len(rows) == 1 + 7 + 1
    resp = client.get(reverse("reporting:conversations", args=[small.slug]) + Q + "&metric=ai_resolved&format=csv")
    rows = list(csv.reader(io.StringIO(resp.content.decode())))
    assert len(rows) == 1 + 3


@pytest.mark.django_db
def test_json_api_and_schema(client, team_a, small):
    client.force_login(team_a.agent.user)
    d = client.get(f"/api/t/{small.slug}/reporting/dashboard/" + Q).json()
    assert d["totals"]["conversations"] == 4 and d["totals"]["ai_resolved"] == 3
    assert d["first_response"]["median"] == 60.0
    page = client.get(f"/api/t/{small.slug}/reporting/conversations/" + Q + "&metric=handed_off").json()
    assert page["count"] == 1 and page["results"][0]["handoff_reason"] == "no_answer"
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/t/{tenant_slug}/reporting/dashboard/" in paths
    assert "/api/t/{tenant_slug}/reporting/conversations/" in paths


@pytest.mark.django_db
def test_refresh_all_task_and_generator(team_a, team_b):
    from chat.reporting.tasks import refresh_rollups

    w = widget(team_a.tenant)
    n = generator.generate(
        tenant=team_a.tenant, widget_ids=[w.pk], agent_ids=[team_a.agent.pk, team_a.admin.pk],
        conversations=300, days=14, with_messages=True,
    )
    assert n > 300
    assert refresh_rollups() == 1
    f = selectors.parse_filters(tenant=team_a.tenant, params={"days": 14})
    d = selectors.dashboard(tenant=team_a.tenant, filters=f)
    t = d["totals"]
    assert t["conversations"] == 300
    assert 0 < t["ai_resolved"] < t["bot_involved"] < 300
    assert t["handed_off"] > 0 and t["csat_answered"] > 0 and t["reopened"] > 0
    for metric in selectors.METRICS:
        assert selectors.drilldown(tenant=team_a.tenant, filters=f, metric=metric).count() == t[metric]
