"""Issue 9, item 3 (HIGH): action identity spoofing and disclosure.

Before the fix (red-team run):
- ``X-Kefu-User-Email`` was ``contact.email``, i.e. whatever the visitor typed in the
  widget's ``email`` frame, sent beside the HMAC-verified user id: a signed-in visitor
  could claim another customer's e-mail to the shop's API;
- actions ran for anonymous visitors too;
- with no response template the reply dumped up to 6 JSON fields, so "where is my order
  2002?" returned another customer's e-mail, name and address.

Each test goes through the production path end to end: a visitor resolved by the chat
services (HMAC identity), the message saved, ``chat.tasks.respond`` run by the in-process
task pool, the real MiniLM intent model, and the action's HTTP call to a real HTTP server
on 127.0.0.1 that records every request it gets. Real PostgreSQL and Redis; no mocks.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chat import services as chat_services
from chat import tasks as chat_tasks
from chat.models import Contact, Conversation, Message
from ml import actions, demo
from ml import services as ml_services
from tenants import services as tenant_services
from tenants.crypto import hmac_sha256_hex
from tests.ai.conftest import seed_team

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = {
    "1001": {"status": "shipped", "carrier": "DHL", "eta": "2 business days", "customer_email": "alice@example.com",
             "customer_name": "Alice Liddell", "shipping_address": "1 Rabbit Hole, Oxford"},
    "2002": {"status": "processing", "carrier": "UPS", "eta": "tomorrow", "customer_email": "bob@example.com",
             "customer_name": "Bob Builder", "shipping_address": "2 Yard Lane, Leeds"},
}
PERSONAL = ("bob@example.com", "Bob Builder", "Yard Lane", "Leeds", "alice@example.com", "Alice Liddell", "Rabbit Hole")


class NaiveOrderApi:
    """A shop API that answers any order number (the red-team's case) and records requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                outer.requests.append({"method": self.command, "path": self.path,
                                       "headers": dict(self.headers), "body": body})
                number = self.path.rsplit("/", 1)[-1]
                order = ORDERS.get(number)
                payload = json.dumps({"order_number": number, **order}).encode() if order else b"{}"
                self.send_response(200 if order else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _record  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def order_api(settings):
    from ml import serving

    serving.drop_state()
    server = NaiveOrderApi()
    settings.KEFU_ACTION_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
    settings.KEFU_CHAT_ANALYZER = chat_tasks.DEFAULT_ANALYZER  # production's, whatever a conftest set
    yield server
    server.close()
    serving.drop_state()


def _shop(team, port: int, method: str = "GET", **action: Any):
    """Intents + policy of the demo (no articles: only the action matters here) and one action."""
    seed_team(team, articles=[])
    spec = {**demo.DEMO_ORDER_ACTION, "method": method,
            "url_template": f"http://127.0.0.1:{port}/orders/{{order_number}}", **action}
    for key in ("requires_verified_visitor", "response_fields", "response_template"):
        if key not in action:
            spec.pop(key, None)  # the model's defaults: verified visitors only, nothing shown
    ml_services.create_action(actor=team.owner, **spec)
    widget, secret = tenant_services.create_widget(actor=team.owner, name="Shop", allowed_origins="https://shop.example")
    return widget, secret


def _signed_in(widget, secret: str, user_id: str) -> Contact:
    return chat_services.resolve_visitor(widget=widget, user_id=user_id, user_hash=hmac_sha256_hex(secret, user_id))


def _ask(contact: Contact, text: str, n: int) -> Message:
    """Send like the widget does and wait for the bot's reply written by chat.tasks.respond."""
    posted = chat_services.send_visitor_message(contact=contact, body=text, client_msg_id=f"m-{n}")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        reply = Message.objects.for_tenant(contact.tenant_id).filter(reply_to_id=posted.message.pk).first()
        if reply is not None:
            return reply
        time.sleep(0.1)
    raise AssertionError(f"no bot reply to {text!r}")


def test_03_spoofed_email_frame_never_reaches_the_action(team_a, order_api):
    """A signed-in visitor (HMAC user id u-alice) types bob@example.com in the e-mail frame.
    Before the fix the action got ``X-Kefu-User-Email: bob@example.com``."""
    widget, secret = _shop(team_a, order_api.port, method="POST", response_template="Order {order_number} is {status}.")
    alice = _signed_in(widget, secret, "u-alice")
    chat_services.set_contact_email(contact=alice, email="bob@example.com")  # the widget's `email` frame

    reply = _ask(alice, "Where is my order 1001?", 1)

    assert reply.body == "Order 1001 is shipped.", reply.explanation
    [request] = order_api.requests
    assert request["headers"]["X-Kefu-User-Id"] == "u-alice"
    assert "X-Kefu-User-Email" not in request["headers"]
    assert json.loads(request["body"])["verified_identity"] == {"user_id": "u-alice"}
    assert "bob@example.com" not in json.dumps(request)
    # The e-mail label stays what it is: a label for follow-up, never identity.
    assert Contact.objects.for_tenant(team_a.tenant).get(pk=alice.pk).email == "bob@example.com"
    assert actions.verified_identity({"verified": True, "user_id": "u-1", "email": "typed@evil.example"}) == \
        {"user_id": "u-1"}


def test_03_anonymous_visitor_gets_no_order_data(team_a, order_api):
    """An anonymous visitor asks for an order. Before the fix the action ran for anyone and
    the order's data came back; now the action is never called: the visitor is asked to
    sign in, and asking again hands off with reason identity_required."""
    widget, _secret = _shop(team_a, order_api.port, response_template="Order {order_number} is {status}.")
    anonymous = chat_services.resolve_visitor(widget=widget)
    chat_services.set_contact_email(contact=anonymous, email="alice@example.com")

    first = _ask(anonymous, "Where is my order 1001?", 1)
    assert first.body == actions.sign_in_text("en")
    assert first.explanation["decision"]["reason"] == "identity_required"
    # Asking again (the bot's turn state says it asked to sign in): a person takes over.
    second = _ask(anonymous, "Where is my order 1001? Please tell me", 2)
    assert second.explanation["decision"]["action"] == "handoff", second.explanation
    assert second.explanation["decision"]["reason"] == "identity_required"
    conv = Conversation.objects.for_tenant(team_a.tenant).get(pk=second.conversation_id)
    assert (conv.handled_by, conv.handoff_reason) == ("human", "identity_required")

    assert order_api.requests == []  # the shop's API was never called
    for text in (first.body, second.body):
        assert "shipped" not in text and "DHL" not in text
    assert actions.sign_in_text("zh") != actions.sign_in_text("en")  # translated (zh-hans catalogue)


def test_03_reply_shows_only_allow_listed_fields(team_a, order_api):
    """No template, allow-list [status, carrier]: only those fields. Before the fix every
    short field (e-mail, name, address included) was listed."""
    widget, secret = _shop(team_a, order_api.port, response_fields=["status", "carrier"])
    reply = _ask(_signed_in(widget, secret, "u-alice"), "Where is my order 1001?", 1)
    assert "shipped" in reply.body and "DHL" in reply.body, reply.explanation
    assert "2 business days" not in reply.body
    for secret_text in PERSONAL:
        assert secret_text not in reply.body


def test_03_another_customers_order_discloses_nothing(team_a, order_api):
    """The red-team's case: no template, no allow-list, a signed-in customer asks for
    somebody else's order 2002. Before the fix the reply listed bob@example.com, Bob
    Builder and his address. Now no field is shown, and the shop's API got the verified
    user id so it can refuse."""
    widget, secret = _shop(team_a, order_api.port)
    reply = _ask(_signed_in(widget, secret, "u-alice"), "where is my order 2002?", 1)
    assert reply.explanation["decision"]["action"] == "answer", reply.explanation
    for secret_text in PERSONAL + ("processing", "UPS", "tomorrow"):
        assert secret_text not in reply.body
    assert order_api.requests[0]["headers"]["X-Kefu-User-Id"] == "u-alice"


def test_03_action_api_defaults_to_verified_visitors_and_no_fields(team_a, client):
    """The API (and so the portal) exposes both settings; a new action requires a verified
    visitor and shows no response field unless the tenant lists them. Bad names are a 400."""
    client.force_login(team_a.owner.user)
    base = f"/api/t/{team_a.tenant.slug}/actions/"
    action = {"url_template": "https://shop.example.com/o/{order_number}",
              "parameters": [{"name": "order_number", "type": "order_number"}]}
    r = client.post(base, {"name": "lookup", **action}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert (r.json()["requires_verified_visitor"], r.json()["response_fields"]) == (True, [])
    r = client.patch(f"{base}{r.json()['id']}/", {"response_fields": ["status", "carrier"],
                                                  "requires_verified_visitor": False}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert (r.json()["requires_verified_visitor"], r.json()["response_fields"]) == (False, ["carrier", "status"])
    r = client.post(base, {"name": "bad", **action, "response_fields": ["customer email!"]}, content_type="application/json")
    assert r.status_code == 400
