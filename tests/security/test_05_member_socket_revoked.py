"""Issue 9 #5: a member removed from the tenant (or whose password or role changed) kept
receiving live conversations, card numbers included, on an inbox socket opened before;
membership was checked only at connect.

Now the socket is closed with 4403 as soon as the change commits (tenants.signals sends
the member's group an event; the socket re-reads its access), and it re-reads it on every
inbound frame and, while events flow, at least every KEFU_MEMBER_RECHECK_S, so a lost
notice or a change made behind the ORM's back does not keep it open either.

In-process sockets through config.asgi (in-memory channel layer, real PostgreSQL); the
visitor's message goes through the real socket path; the bot is recorded, not run."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from tenants import services as tenant_services
from tenants.models import Membership
from tests.security.sockets import (  # noqa: F401 - fixtures
    bot_calls,
    frame,
    inbox_socket,
    recv,
    session_cookie,
    socket_settings,
    widget,
    widget_socket,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

CARD = "my card is 4111 1111 1111 1111"


@pytest.fixture
def cookies(team_a, socket_settings):  # noqa: F811
    return {"agent": session_cookie(team_a.agent.user), "admin": session_cookie(team_a.admin.user)}


async def _inbox(team, cookie):
    comm = inbox_socket(team.tenant.slug, cookie)
    connected, code = await comm.connect()
    assert connected, code
    assert (await recv(comm))["type"] == "ready"
    return comm


async def _visitor_says(widget, body: str) -> dict:  # noqa: F811
    comm = await widget_socket(widget)
    assert (await frame(comm, {"type": "hello"}))["type"] == "ready"
    ack = await frame(comm, {"type": "message", "client_msg_id": "c-1", "body": body})
    assert ack["type"] == "ack"
    await comm.disconnect()
    return ack


async def _frames_until_closed(comm) -> tuple[list[dict], int]:
    """Everything the socket got, up to its close; the close code."""
    got: list[dict] = []
    while True:
        out = await comm.receive_output(timeout=5)
        if out["type"] == "websocket.close":
            return got, out["code"]
        got.append(out)


async def _gets_message(comm, body: str) -> None:
    while True:
        got = await recv(comm)
        if got["type"] == "message" and got["message"]["body"] == body:
            return


def _bodies(frames: list[dict]) -> list[str]:
    return [f.get("text", "") for f in frames if CARD in f.get("text", "")]


async def test_05_removed_member_socket_gets_nothing_and_closes(team_a, widget, cookies, bot_calls):  # noqa: F811
    removed, control = await _inbox(team_a, cookies["agent"]), await _inbox(team_a, cookies["admin"])
    await database_sync_to_async(tenant_services.remove_member)(actor=team_a.owner, membership_id=team_a.agent.pk)
    await _visitor_says(widget, CARD)
    await _gets_message(control, CARD)  # the tenant's sockets do get it
    frames, code = await _frames_until_closed(removed)
    assert code == 4403
    assert _bodies(frames) == [], "the removed member received the conversation"
    await control.disconnect()


async def test_05_password_change_closes_the_socket(team_a, widget, cookies, bot_calls):  # noqa: F811
    comm = await _inbox(team_a, cookies["agent"])

    @database_sync_to_async
    def change_password() -> None:
        user = team_a.agent.user
        user.set_password("a-new-password-42")
        user.save()

    await change_password()
    await _visitor_says(widget, CARD)
    frames, code = await _frames_until_closed(comm)
    assert code == 4403 and _bodies(frames) == []
    # The old session no longer opens a socket either (Django's session hash).
    again = inbox_socket(team_a.tenant.slug, cookies["agent"])
    assert await again.connect() == (False, 4404)


async def test_05_role_change_closes_the_socket(team_a, cookies, socket_settings):  # noqa: F811
    comm = await _inbox(team_a, cookies["agent"])
    await database_sync_to_async(tenant_services.change_role)(
        actor=team_a.owner, membership_id=team_a.agent.pk, role="admin"
    )
    frames, code = await _frames_until_closed(comm)
    assert code == 4403


async def test_05_change_without_notice_caught_on_next_frame_and_event(team_a, widget, cookies, bot_calls, socket_settings):  # noqa: F811
    """No signal fires for a queryset update: the per-frame and per-event re-reads catch it."""
    by_frame, by_event = await _inbox(team_a, cookies["agent"]), await _inbox(team_a, cookies["admin"])

    def set_role(membership_id: int, role: str) -> None:
        Membership.all_tenants.filter(pk=membership_id).update(role=role)

    # Inbound: the next frame re-reads the membership and is not answered.
    await database_sync_to_async(set_role)(team_a.agent.pk, "admin")
    await by_frame.send_json_to({"type": "ping", "ref": 1})
    frames, code = await _frames_until_closed(by_frame)
    assert code == 4403 and not any('"pong"' in f.get("text", "") for f in frames)
    # Outbound: with the re-read due, the next event re-reads first and is not delivered.
    await database_sync_to_async(set_role)(team_a.admin.pk, "agent")
    socket_settings.KEFU_MEMBER_RECHECK_S = 0
    await _visitor_says(widget, CARD)
    frames, code = await _frames_until_closed(by_event)
    assert code == 4403 and _bodies(frames) == []
