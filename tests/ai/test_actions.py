"""HTTP actions: SSRF guard, verified identity only, asking for missing parameters.
MiniLM is real (intent); the order API is a local HTTP server allowed by the operator."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ml import actions, demo, services
from ml import api as ml_api
from tests.ai.conftest import conversation, seed_team


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/orders/1", "http://localhost/orders/1", "http://10.1.2.3/x", "http://192.168.0.10/x",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/x", "http://0.0.0.0/x", "http://100.64.0.1/x",
])
def test_ssrf_guard_refuses_private_targets(settings, url):
    settings.KEFU_ACTION_ALLOWED_HOSTS = []
    with pytest.raises(actions.ActionError) as err:
        actions.check_target(url)
    assert err.value.code == "forbidden_target"


def test_ssrf_guard_allows_operator_listed_hosts_and_rejects_bad_urls(settings):
    settings.KEFU_ACTION_ALLOWED_HOSTS = ["127.0.0.1:8000"]
    assert actions.check_target("http://127.0.0.1:8000/demo-api/orders/1001").allowed_by_operator
    with pytest.raises(actions.ActionError):
        actions.check_target("http://127.0.0.1:9000/other-port")
    for bad in ("file:///etc/passwd", "gopher://x", "http://user:pw@example.com/"):
        with pytest.raises(actions.ActionError):
            actions.check_target(bad)
    # Parameters are percent-encoded: no path or host injection.
    assert actions.build_url("https://api.example.com/o/{n}", {"n": "../admin?x=1"}) == \
        "https://api.example.com/o/..%2Fadmin%3Fx%3D1"


class _OrderServer:
    def __init__(self):
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append({"path": self.path, "headers": dict(self.headers)})
                number = self.path.rsplit("/", 1)[-1]
                if number != "1001":
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps({"order_number": number, "status": "shipped", "carrier": "DHL",
                                   "tracking_number": "JD01", "eta": "2 business days"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def order_api(settings):
    server = _OrderServer()
    settings.KEFU_ACTION_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
    yield server
    server.close()


def _seed_with_action(team, port):
    seed_team(team)
    spec = {**demo.DEMO_ORDER_ACTION, "url_template": f"http://127.0.0.1:{port}/demo-api/orders/{{order_number}}",
            "auth_header_name": "X-Api-Key", "auth_header_value": "s3cret-key"}
    return services.create_action(actor=team.owner, **spec)


def test_order_status_action_answers_from_the_json(team_a, order_api):
    _seed_with_action(team_a, order_api.port)
    result = ml_api.analyze_and_reply(tenant_id=team_a.tenant.pk, conversation=conversation("Where is my order 1001?"))
    assert result["action"] == "answer", result["explanation"]
    assert "shipped" in result["text"] and "DHL" in result["text"]
    assert order_api.requests[0]["path"] == "/demo-api/orders/1001"
    assert order_api.requests[0]["headers"]["X-Api-Key"] == "s3cret-key"
    assert result["explanation"]["action"]["name"] == "order_status"


def test_missing_parameter_is_asked_for_then_used(team_a, order_api):
    _seed_with_action(team_a, order_api.port)
    first = ml_api.analyze_and_reply(tenant_id=team_a.tenant.pk, conversation=conversation("Where is my order?"))
    assert first["action"] == "clarify"
    assert first["text"] == "Sure! What is your order number?"
    assert order_api.requests == []
    second = ml_api.analyze_and_reply(tenant_id=team_a.tenant.pk, conversation=conversation("It's 1001", turns=[
        {"role": "visitor", "text": "Where is my order?", "sentiment": "neutral"},
        {"role": "bot", "text": first["text"], "sentiment": None, "state": first["explanation"]["state"]}],
        bot_turns=1))
    assert second["action"] == "answer", second["explanation"]
    assert "shipped" in second["text"]


def test_action_receives_only_the_verified_identity(team_a, order_api):
    _seed_with_action(team_a, order_api.port)
    typed = "Where is my order 1001? my email is mallory@evil.example"
    unverified = {"verified": False, "user_id": "u-9", "email": "mallory@evil.example", "attributes": {}}
    ml_api.analyze_and_reply(tenant_id=team_a.tenant.pk, conversation=conversation(typed, visitor=unverified))
    headers = order_api.requests[-1]["headers"]
    assert "X-Kefu-User-Email" not in headers and "X-Kefu-User-Id" not in headers

    # The e-mail label (typed in the widget) is never identity; only a verified e-mail is.
    verified = {"verified": True, "user_id": "u-1", "email": "mallory@evil.example",
                "verified_email": "alice@example.com", "attributes": {}}
    ml_api.analyze_and_reply(tenant_id=team_a.tenant.pk, conversation=conversation(typed, visitor=verified))
    headers = order_api.requests[-1]["headers"]
    assert headers["X-Kefu-User-Email"] == "alice@example.com"
    assert headers["X-Kefu-User-Id"] == "u-1"
    assert "mallory" not in json.dumps(order_api.requests[-1])


def test_refused_target_hands_off_with_a_reason(team_a, settings):
    seed_team(team_a)
    services.create_action(actor=team_a.owner, **{**demo.DEMO_ORDER_ACTION,
                                                 "url_template": "http://169.254.169.254/latest/{order_number}"})
    settings.KEFU_ACTION_ALLOWED_HOSTS = []
    result = ml_api.analyze_and_reply(tenant_id=team_a.tenant.pk, conversation=conversation("Where is my order 1001?"))
    assert result["action"] == "handoff" and result["handoff_reason"] == "action_failed"
    assert result["explanation"]["action"]["error"]["code"] == "forbidden_target"


def test_extract_parameters():
    spec = actions.ActionSpec(id=1, name="x", method="GET", url_template="https://e.com/{order_number}",
                              parameters=[{"name": "order_number", "type": "order_number"},
                                          {"name": "email", "type": "email", "required": False}])
    values, missing = actions.extract_parameters(spec, ["order #A-12345 please, bob@example.com"])
    assert values == {"order_number": "A-12345", "email": "bob@example.com"} and missing == []
    values, missing = actions.extract_parameters(spec, ["where is it?"])
    assert values == {} and [p["name"] for p in missing] == ["order_number"]
