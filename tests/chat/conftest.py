from __future__ import annotations

from dataclasses import dataclass

import pytest

from chat import ratelimit
from tenants import services as tenant_services
from tenants.models import Widget

ORIGIN_A = "https://shop-a.example"
ORIGIN_B = "https://shop-b.example"


@dataclass
class WidgetInfo:
    widget: Widget
    secret: str
    origin: str


@pytest.fixture(autouse=True)
def _chat_settings(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.KEFU_TASK_MODE = "inprocess"
    settings.KEFU_CHAT_ANALYZER = "tests.chat.fake_ml.analyze_and_reply"
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    ratelimit.reset()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def no_bot(monkeypatch):
    """Record instead of enqueueing chat.tasks.respond (keeps socket tests deterministic)."""
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr("chat.tasks.enqueue_respond", lambda tenant_id, message_id: calls.append((tenant_id, message_id)))
    return calls


def make_widget(team, origin: str, name: str = "Widget") -> WidgetInfo:
    widget, secret = tenant_services.create_widget(actor=team.owner, name=name, allowed_origins=origin)
    return WidgetInfo(widget, secret, origin)


@pytest.fixture
def widget_a(team_a) -> WidgetInfo:
    return make_widget(team_a, ORIGIN_A, "Widget A")


@pytest.fixture
def widget_a2(team_a) -> WidgetInfo:
    return make_widget(team_a, ORIGIN_A, "Widget A2")


@pytest.fixture
def widget_b(team_b) -> WidgetInfo:
    return make_widget(team_b, ORIGIN_B, "Widget B")
