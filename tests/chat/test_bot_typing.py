"""The bot's typing indicator reaches the visitor's socket right after the message is stored,
before any worker has run the bot (the bot is replaced by a recorder, `no_bot`: this is a
plumbing test of the socket, not of the models)."""

from __future__ import annotations

import time

import pytest

from tests.chat.test_ws import hello, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_bot_typing_within_300_ms_of_the_visitor_message(widget_a, no_bot):
    comm = await open_socket(widget_a)
    await hello(comm)
    t0 = time.perf_counter()
    await comm.send_json_to({"type": "message", "body": "How long do returns take?", "client_msg_id": "t-1"})
    frames = []
    while not any(f["type"] == "typing" for f in frames):
        frames.append(await comm.receive_json_from(timeout=5))
    elapsed_ms = (time.perf_counter() - t0) * 1000
    typing = next(f for f in frames if f["type"] == "typing")
    ack = next(f for f in frames if f["type"] == "ack")
    assert typing == {"type": "typing", "conversation_id": ack["conversation"]["id"], "side": "bot", "on": True}
    assert elapsed_ms < 300, elapsed_ms
    assert len(no_bot) == 1  # the bot has been asked, not yet answered
    await comm.disconnect()


async def test_no_bot_typing_once_a_person_handles_the_conversation(widget_a, team_a, no_bot):
    from channels.db import database_sync_to_async

    from chat import services

    comm = await open_socket(widget_a)
    await hello(comm)
    await comm.send_json_to({"type": "message", "body": "hello", "client_msg_id": "t-2"})
    frames = [await comm.receive_json_from(timeout=5) for _ in range(2)]
    conv_id = next(f for f in frames if f["type"] == "ack")["conversation"]["id"]
    await database_sync_to_async(services.take_over)(actor=team_a.agent, conversation_id=conv_id)
    while not await comm.receive_nothing(timeout=0.3):
        await comm.receive_json_from(timeout=1)  # the take-over's own events
    await comm.send_json_to({"type": "message", "body": "still there?", "client_msg_id": "t-3",
                             "conversation_id": conv_id})
    frames = [await comm.receive_json_from(timeout=5)]
    assert await comm.receive_nothing(timeout=0.5)
    assert frames[0]["type"] == "ack" and not any(f["type"] == "typing" for f in frames)
    await comm.disconnect()
