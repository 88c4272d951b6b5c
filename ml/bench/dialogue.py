"""Dialogue bench: ``python -m ml.bench.dialogue`` (``make bench-dialogue``).

Scripted multi-turn conversations (``ml.bench.dialogue_scripts``) on fixture tenants
(``ml.bench.dialogue_tenants``: shop, bank, clinic, cafe; English and Chinese) run through
``ml.api.analyze_and_reply`` — the call chat's respond task makes — with the real models
(MiniLM for intent/retrieval/grounding, the sentiment head, lingua; the LLM only where a
tenant's policy turns it on). Each turn is checked against its expected outcome; the
bot-turn state is carried to the next turn the way chat stores it (the bot message's
explanation["state"]). Actions are served by a local HTTP server started here.

Reported: per-turn pass rate (overall, per language, per tag), replies with a number absent
from the cited articles / action result ("invented"), replies with an empty template field,
and, as the in-run baseline, the follow-up conversations with and without follow-up
rewriting. Writes bench-results/dialogue.json (top-level ``summary``).
Needs a migrated database (DATABASE_URL; the Makefile target uses its own).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NUMBER_RE = re.compile(r"\d+(?:[.,:]\d+)*")
EMPTY_FIELD_RE = re.compile(r":\s*[,;.](\s|$)|\s[,;]|\{[a-z_]+\}|\bNone\b|:\s*$|,\s*;|：\s*[，；。]")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


class ActionServer:
    """The tenants' lookup APIs: fixed JSON per path, 404 otherwise; records each call."""

    def __init__(self, data: dict[str, dict[str, Any]]) -> None:
        self.calls: list[tuple[str, dict[str, Any] | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = data.get(self.path)
                outer.calls.append((self.path, body))
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body or {"error": "not found"}).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def seed_tenants(base_url: str, *, use_generator: bool | None = None) -> dict[str, int]:
    """Fresh fixture tenants (unique slugs per run); returns tenant ids by key.
    ``use_generator`` overrides the fixtures' policies (tests switch the LLM off)."""
    from django.contrib.auth import get_user_model

    from ml import services
    from ml.bench.dialogue_tenants import TENANTS
    from ml.models import ArticleStatus
    from tenants.models import Membership, Role, Tenant

    run = uuid.uuid4().hex[:8]
    ids: dict[str, int] = {}
    for key, spec in TENANTS.items():
        tenant = Tenant.objects.create(name=f"{spec['name']} {run}", slug=f"bench-{key}-{run}")
        email = f"owner-{run}@{key}.bench.example"
        user = get_user_model().objects.create_user(username=email, email=email, password=uuid.uuid4().hex)
        owner = Membership.objects.create(tenant=tenant, user=user, role=Role.OWNER)
        for a in spec["articles"]:
            services.create_article(actor=owner, title=a["title"], body=a["body"], language=a["language"],
                                    status=ArticleStatus.PUBLISHED)
        for i in spec["intents"]:
            services.create_intent(actor=owner, name=i["name"], description=i["description"],
                                   escalates=i["escalates"], examples=i["examples"])
        policy = spec["policy"] if use_generator is None else {**spec["policy"], "use_generator": use_generator}
        services.update_policy(actor=owner, **policy)
        for action in spec["actions"]:
            services.create_action(actor=owner, **{**action,
                                                   "url_template": action["url_template"].replace("{base}", base_url)})
        ids[key] = tenant.pk
    return ids


def set_agent_settings(tenant_ids: dict[str, int], overrides: dict[str, Any]) -> None:
    from ml import services
    from tenants.models import Membership, Role

    for tenant_id in tenant_ids.values():
        owner = Membership.objects.for_tenant(tenant_id).get(role=Role.OWNER)
        services.update_policy(actor=owner, agent_settings=overrides)


# --- checking one turn ------------------------------------------------------------------------------


def _article_bodies() -> dict[str, str]:
    from ml.bench.dialogue_tenants import TENANTS

    return {a["title"]: a["body"] for spec in TENANTS.values() for a in spec["articles"]}


def expectation_met(expect: str, result: dict[str, Any]) -> bool:
    """Does the bot's result match one expected outcome (see ml.bench.dialogue_scripts)?"""
    if "|" in expect and not expect.startswith("handoff:"):
        return any(expectation_met(e, result) for e in expect.split("|"))
    state = (result.get("explanation") or {}).get("state") or {}
    kind, action, reason = state.get("kind"), str(result.get("action")), result.get("handoff_reason")
    name, _sep, rest = expect.partition(":")
    if name == "answer":
        return kind == "answer" and rest in {c.get("title") for c in result.get("citations") or []}
    if name == "action":
        action_name, _s, slot = rest.partition(":")
        if kind != "action_result" or state.get("action") != action_name:
            return False
        key, _e, value = slot.partition("=")
        return not slot or (state.get("slots") or {}).get(key) == value
    if name == "ask":
        action_name, _s, slot = rest.partition(":")
        return kind == "ask_slot" and state.get("action") == action_name and state.get("awaiting") == slot
    if name == "clarify":
        return action == "clarify" and kind == "clarify"
    if name == "abstain":
        return (action == "clarify" and kind == "clarify") or \
            (action == "handoff" and reason in {"out_of_scope", "low_confidence", "no_answer"})
    if name == "small":
        return kind == "small_talk" and state.get("reason") == rest
    if name == "ack":
        return kind == "acknowledge"
    if name == "handoff":
        return action == "handoff" and str(reason) in rest.split("|")
    raise ValueError(f"unknown expectation {expect!r}")


def invented_numbers(text: str, result: dict[str, Any], action_json: list[dict[str, Any]],
                     bodies: dict[str, str], message: str) -> list[str]:
    """Numbers in the reply found neither in the cited articles nor in this turn's action
    results (nor, for an action turn, the parameter value the visitor typed and the bot
    repeats: "I couldn't find anything for 9999")."""
    allowed = " ".join(bodies.get(str(c.get("title")), "") for c in result.get("citations") or [])
    allowed += " " + json.dumps(action_json, ensure_ascii=False)
    state = (result.get("explanation") or {}).get("state") or {}
    if state.get("kind") in ("ask_slot", "action_result"):
        allowed += " " + message
    known = set(NUMBER_RE.findall(allowed))
    return [n for n in NUMBER_RE.findall(text) if n not in known and n.rstrip(".:,") not in known]


def run_script(analyze: Any, tenant_id: int, script: tuple[Any, ...], server: ActionServer,
               bodies: dict[str, str], conv_id: int) -> list[dict[str, Any]]:
    _tenant, language, tags, turns = script
    history: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for n, turn in enumerate(turns):
        message, expect = turn[0], turn[1]
        options = turn[2] if len(turn) > 2 else {}
        history.append({"role": "visitor", "text": message, "sentiment": None})
        conversation = {"id": conv_id, "widget_id": 0, "turns": list(history), "bot_turns": n,
                        "visitor": {"verified": False, "user_id": None, "email": "", "attributes": {}},
                        "message": {"id": n + 1, "text": message}}
        calls_before = len(server.calls)
        started = time.perf_counter()
        result = dict(analyze(tenant_id=tenant_id, conversation=conversation))
        ms = (time.perf_counter() - started) * 1000
        text = str(result.get("text") or "")
        action_json = [body for _path, body in server.calls[calls_before:] if body]
        invented = invented_numbers(text, result, action_json, bodies, message)
        empty = bool(EMPTY_FIELD_RE.search(text))
        wrong_language = language == "zh" and not CJK_RE.search(text)
        forbidden = [s for s in options.get("not", []) if s in text]
        ok = expectation_met(expect, result) and not (invented or empty or wrong_language or forbidden)
        state = (result.get("explanation") or {}).get("state") or {}
        rows.append({"conversation": conv_id, "turn": n + 1, "tenant": script[0], "language": language,
                     "tags": list(tags), "message": message, "expected": expect, "passed": ok,
                     "got": {"action": str(result.get("action")), "kind": state.get("kind"),
                             "reason": result.get("handoff_reason") or state.get("reason"),
                             "action_name": state.get("action"), "slots": state.get("slots"),
                             "citations": [c.get("title") for c in result.get("citations") or []]},
                     "text": text, "invented": invented, "empty_field": empty, "wrong_language": wrong_language,
                     "forbidden": forbidden, "ms": round(ms, 1)})
        history.append({"role": "bot", "text": text, "sentiment": None, "state": state})
        history[-2]["sentiment"] = (result.get("sentiment") or {}).get("label")
        if str(result.get("action")) == "handoff":
            break  # a person has the conversation now
    return rows


def run_all(scripts: list[tuple[Any, ...]], tenant_ids: dict[str, int], server: ActionServer) -> list[dict[str, Any]]:
    from ml.api import analyze_and_reply

    bodies = _article_bodies()
    rows: list[dict[str, Any]] = []
    for i, script in enumerate(scripts, start=1):
        rows += run_script(analyze_and_reply, tenant_ids[script[0]], script, server, bodies, i)
        if i % 10 == 0:
            passed = sum(r["passed"] for r in rows)
            print(f"  {i}/{len(scripts)} conversations, {passed}/{len(rows)} turns pass", flush=True)
    return rows


# --- report ---------------------------------------------------------------------------------------


def _rate(rows: list[dict[str, Any]]) -> float:
    return round(sum(r["passed"] for r in rows) / len(rows), 4) if rows else 0.0


def summarize(rows: list[dict[str, Any]], scripts: list[tuple[Any, ...]]) -> dict[str, Any]:
    by_language: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_language[r["language"]].append(r)
    return {
        "pass_rate": _rate(rows),
        "turns": len(rows),
        "turns_passed": sum(r["passed"] for r in rows),
        "conversations": len(scripts),
        "conversations_all_passed": len({r["conversation"] for r in rows}) - len(
            {r["conversation"] for r in rows if not r["passed"]}),
        "invented": sum(1 for r in rows if r["invented"]),
        "empty_fields": sum(1 for r in rows if r["empty_field"]),
        "wrong_language": sum(1 for r in rows if r["wrong_language"]),
        "per_language_pass": {lang: _rate(rs) for lang, rs in sorted(by_language.items())},
        "per_language_turns": {lang: len(rs) for lang, rs in sorted(by_language.items())},
        "chinese_conversations": sum(1 for s in scripts if s[1] == "zh"),
        "turn_ms_p50": _percentile([r["ms"] for r in rows], 50),
        "turn_ms_p95": _percentile([r["ms"] for r in rows], 95),
    }


def _percentile(xs: list[float], q: float) -> float:
    import numpy as np

    return round(float(np.percentile(xs, q)), 1) if xs else 0.0


def per_tag(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    tags: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        for tag in r["tags"]:
            tags[tag].append(r)
    return {t: {"turns": len(rs), "pass_rate": _rate(rs)} for t, rs in sorted(tags.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="run only the first N conversations")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A bench process, not a deployment: no site is served, so any key and host will do.
    os.environ.setdefault("KEFU_SECRET_KEY", uuid.uuid4().hex)
    os.environ.setdefault("KEFU_ALLOWED_HOSTS", "127.0.0.1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from ml.bench.common import table, write_results
    from ml.bench.dialogue_scripts import SCRIPTS
    from ml.bench.dialogue_tenants import ACTION_DATA

    logging.getLogger("httpx").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    scripts = SCRIPTS[: args.limit] if args.limit else SCRIPTS
    server = ActionServer(ACTION_DATA)
    settings.KEFU_ACTION_ALLOWED_HOSTS = [server.base.removeprefix("http://")]
    try:
        tenant_ids = seed_tenants(server.base)
        print(f"{len(scripts)} conversations on {len(tenant_ids)} tenants", flush=True)
        rows = run_all(scripts, tenant_ids, server)
        # In-run baseline: the follow-up conversations again, with follow-up rewriting off.
        follow_ups = [s for s in scripts if "follow_up" in s[2]]
        set_agent_settings(tenant_ids, {"rewrite_follow_ups": False})
        not_rewritten = run_all(follow_ups, tenant_ids, server)
        set_agent_settings(tenant_ids, {})
    finally:
        server.close()
    summary = summarize(rows, scripts)
    baseline_rows = [r for r in rows if "follow_up" in r["tags"]]
    summary["follow_up_rewrite"] = {"on_pass_rate": _rate(baseline_rows), "off_pass_rate": _rate(not_rewritten),
                                    "turns": len(baseline_rows), "default": "on"}
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    tags = per_tag(rows)
    print(table([[t, v["turns"], v["pass_rate"]] for t, v in tags.items()], ["tag", "turns", "pass rate"]))
    print(table([[k, v] for k, v in summary.items() if not isinstance(v, dict)], ["summary", "value"]))
    print("per language:", summary["per_language_pass"], " follow-up rewriting:", summary["follow_up_rewrite"])
    failures = [r for r in rows if not r["passed"]]
    for r in failures[:40]:
        print(f"  FAIL #{r['conversation']}.{r['turn']} [{r['tenant']}/{r['language']}] {r['message']!r} "
              f"expected {r['expected']} got {r['got']} text={r['text'][:90]!r}")
    path = write_results("dialogue", {"summary": summary, "per_tag": tags, "turns": rows,
                                      "follow_up_no_rewrite_turns": not_rewritten})
    print(f"turn pass rate {summary['pass_rate']:.1%} ({summary['turns_passed']}/{summary['turns']}); "
          f"invented {summary['invented']}; empty fields {summary['empty_fields']}; wrote {path}")


if __name__ == "__main__":
    main()
