"""Widget socket outside business hours (WebsocketCommunicator, in-memory channel layer, bot
recorded by `no_bot`): the ready frame says closed and when we are back; a handoff asks for the e-mail."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from channels.db import database_sync_to_async

from tenants.widget_hours import set_widget_hours
from tests.chat.test_ws import hello, open_socket, recv, send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _closed_until_in_three_days(team, info) -> datetime:
    """Open one hour on the weekday three days ahead: closed now, whatever the clock says."""
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    set_widget_hours(actor=team.owner, widget_id=info.widget.pk, time_zone="UTC",
                     schedule={WEEKDAYS[day.weekday()]: [["09:00", "10:00"]]}, away_message="Gone fishing.")
    info.widget.refresh_from_db()
    return datetime.combine(day, time(9), tzinfo=UTC)


async def test_ready_says_closed_and_handoff_asks_for_email(widget_a, team_a, no_bot):
    opens = await database_sync_to_async(_closed_until_in_three_days)(team_a, widget_a)
    comm = await open_socket(widget_a)
    ready = await hello(comm)
    assert ready["type"] == "ready"
    assert ready["hours"] == {"open": False, "next_open": opens.isoformat(), "away_message": "Gone fishing."}
    ack = await send(comm, "hi", "bh-1")
    await comm.send_json_to({"type": "handoff", "conversation_id": ack["conversation"]["id"]})
    while (frame := await recv(comm))["type"] != "handoff":
        pass
    assert frame["agents_online"] is False and frame["position"] is None  # the widget shows the e-mail box
    assert frame["open"] is False and frame["next_open"] == opens.isoformat()
    assert frame["away_message"] == "Gone fishing."
    await comm.disconnect()


async def test_ready_says_open_without_a_schedule(widget_a, no_bot):
    comm = await open_socket(widget_a)
    ready = await hello(comm)
    assert ready["hours"] == {"open": True, "next_open": None, "away_message": ""}
    await comm.disconnect()
