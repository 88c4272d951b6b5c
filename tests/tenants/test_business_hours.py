"""Business hours: is_open / next_open in the widget's zone (DST, overnight, holidays) and the API's 400s."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from tenants.business_hours import availability, is_open, next_open
from tenants.models import Widget

BERLIN = ZoneInfo("Europe/Berlin")


def _widget(schedule: dict, *, zone: str = "Europe/Berlin", holidays: list[str] | None = None) -> SimpleNamespace:
    return SimpleNamespace(time_zone=zone, business_hours=schedule, holidays=holidays or [], away_message="Back soon")


WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def test_open_inside_local_hours_closed_outside() -> None:
    widget = _widget(WEEKDAYS_9_TO_5)
    # Wednesday 2026-01-14, Berlin is UTC+1 in winter.
    assert is_open(widget, datetime(2026, 1, 14, 8, 30, tzinfo=UTC))  # 09:30 local
    assert not is_open(widget, datetime(2026, 1, 14, 16, 30, tzinfo=UTC))  # 17:30 local
    assert next_open(widget, datetime(2026, 1, 14, 16, 30, tzinfo=UTC)) == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert next_open(widget, datetime(2026, 1, 14, 8, 30, tzinfo=UTC)) is None  # open now


def test_next_open_across_the_spring_dst_change() -> None:
    widget = _widget(WEEKDAYS_9_TO_5)
    # Friday 2026-03-27 18:00 local (UTC+1); clocks go forward on Sunday 29 March; Monday opens at 09:00 CEST = 07:00 UTC.
    friday_evening = datetime(2026, 3, 27, 18, 0, tzinfo=BERLIN)
    assert next_open(widget, friday_evening) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert is_open(widget, datetime(2026, 3, 30, 7, 0, tzinfo=UTC))
    assert not is_open(widget, datetime(2026, 3, 30, 6, 59, tzinfo=UTC))  # 08:59 CEST, though 07:59 in winter time


def test_window_that_spans_the_dst_change_is_one_hour_shorter() -> None:
    widget = _widget({"sun": [["01:00", "04:00"]]})  # 02:00 local does not exist on 2026-03-29
    assert is_open(widget, datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # 01:30 CET
    assert is_open(widget, datetime(2026, 3, 29, 1, 30, tzinfo=UTC))  # 03:30 CEST
    assert not is_open(widget, datetime(2026, 3, 29, 2, 0, tzinfo=UTC))  # 04:00 CEST: closed


def test_overnight_interval_runs_into_the_next_day() -> None:
    widget = _widget({"fri": [["22:00", "02:00"]]}, zone="Asia/Shanghai")
    # Friday 2026-01-16 23:00 and Saturday 01:30 Shanghai time are open; Saturday 02:00 is not.
    assert is_open(widget, datetime(2026, 1, 16, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert is_open(widget, datetime(2026, 1, 17, 1, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert not is_open(widget, datetime(2026, 1, 17, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert not is_open(widget, datetime(2026, 1, 16, 21, 59, tzinfo=ZoneInfo("Asia/Shanghai")))


def test_holiday_closes_the_day_and_next_open_skips_it() -> None:
    widget = _widget(WEEKDAYS_9_TO_5, holidays=["2026-12-24", "2026-12-25"])
    thursday_noon = datetime(2026, 12, 24, 12, 0, tzinfo=BERLIN)
    assert not is_open(widget, thursday_noon)
    assert next_open(widget, thursday_noon) == datetime(2026, 12, 28, 8, 0, tzinfo=UTC)  # Monday 09:00 CET
    state = availability(widget, thursday_noon)
    assert state == {"open": False, "next_open": "2026-12-28T08:00:00+00:00", "away_message": "Back soon"}


def test_no_schedule_means_always_open() -> None:
    widget = _widget({})
    assert is_open(widget, datetime(2026, 1, 18, 3, 0, tzinfo=UTC)) and next_open(widget, datetime.now(UTC)) is None


@pytest.mark.django_db
def test_widget_api_stores_hours_and_refuses_bad_ones(team_a) -> None:
    client = APIClient()
    client.force_authenticate(team_a.admin.user)
    created = client.post("/api/t/alpha/widgets/", {"name": "Shop", "time_zone": "Asia/Shanghai"}, format="json")
    assert created.status_code == 201, created.json()
    url = f"/api/t/alpha/widgets/{created.json()['id']}/"
    ok = client.patch(url, {"business_hours": {"mon": [["09:00", "18:00"]], "sat": [["22:00", "02:00"]]},
                            "holidays": ["2026-10-01"], "away_message": "We are away."}, format="json")
    assert ok.status_code == 200, ok.json()
    body = ok.json()
    assert body["time_zone"] == "Asia/Shanghai" and body["business_hours"]["sat"] == [["22:00", "02:00"]]
    assert body["holidays"] == ["2026-10-01"] and body["away_message"] == "We are away."
    for bad in ({"time_zone": "Mars/Olympus"}, {"business_hours": {"mon": [["9", "17:00"]]}},
                {"business_hours": {"funday": [["09:00", "17:00"]]}}, {"business_hours": {"mon": [["25:00", "26:00"]]}},
                {"business_hours": {"mon": [["09:00", "09:00"]]}}, {"holidays": ["2026-13-01"]}):
        refused = client.patch(url, bad, format="json")
        assert refused.status_code == 400, (bad, refused.json())
    refused_create = client.post("/api/t/alpha/widgets/", {"name": "X", "time_zone": "Nowhere"}, format="json")
    assert refused_create.status_code == 400
    assert client.get(url).json()["time_zone"] == "Asia/Shanghai"  # nothing lost on refusal
    assert Widget.objects.filter(tenant=team_a.tenant).count() == 1  # the refused create stored nothing


@pytest.mark.django_db
def test_settings_page_edits_hours_and_reports_bad_json(client, team_a) -> None:
    from tenants.services import create_widget

    widget, _secret = create_widget(actor=team_a.owner, name="Shop", allowed_origins="https://shop.example")
    client.force_login(team_a.owner.user)
    form = {"op": "widget_hours", "widget_id": widget.pk, "time_zone": "Europe/Berlin",
            "business_hours": '{"mon": [["09:00", "17:00"]]}', "holidays": "2026-12-25, 2026-12-24",
            "away_message": "Back on Monday."}
    client.post("/t/alpha/settings/", form)
    widget.refresh_from_db()
    assert widget.time_zone == "Europe/Berlin" and widget.business_hours == {"mon": [["09:00", "17:00"]]}
    assert widget.holidays == ["2026-12-24", "2026-12-25"] and widget.away_message == "Back on Monday."
    page = client.get("/t/alpha/settings/").content.decode()
    assert "Back on Monday." in page and "[[&quot;09:00&quot;, &quot;17:00&quot;]]" in page
    refused = client.post("/t/alpha/settings/", {**form, "business_hours": "{not json", "away_message": "x"}, follow=True)
    assert "Invalid business hours" in refused.content.decode()
    widget.refresh_from_db()
    assert widget.away_message == "Back on Monday."  # a refused form changes nothing
