"""The embedded server runs the beat schedule itself: started as `make demo` starts it
(uvicorn on SQLite, no DATABASE_URL / REDIS_URL), conversations created over its widget
WebSocket show up in the dashboard numbers within one roll-up period, with no command run.
The roll-up period is set to a few seconds (KEFU_ROLLUP_REFRESH_S). The bot is the plumbing
fake (tests/chat/fake_ml.py): this test is about the scheduler, not the answers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.processes import ROOT, VENV_BIN, free_port

pytestmark = [pytest.mark.embedded]

PERIOD_S = 4
ORIGIN = "https://embedded-shop.example"
SETUP = f"""
import json, django
django.setup()
from tenants import services
user, tenant = services.sign_up(email="owner@embedded.example", password="long-enough-pass-9", business_name="Embedded")
from tenants.models import Membership
owner = Membership.objects.for_tenant(tenant).get(user=user)
widget, _secret = services.create_widget(actor=owner, name="Shop", allowed_origins="{ORIGIN}")
_key, raw = services.create_api_key(actor=owner, name="dashboard")
print(json.dumps({{"slug": tenant.slug, "widget": widget.public_key, "key": raw}}))
"""


def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "KEFU_DB_POOL",
                                                                "DJANGO_SETTINGS_MODULE", "KEFU_TASK_MODE")}
    env.update(KEFU_SQLITE_PATH=str(tmp_path / "embedded.sqlite3"), KEFU_ROLLUP_REFRESH_S=str(PERIOD_S),
               KEFU_CHAT_ANALYZER="tests.chat.fake_ml.analyze_and_reply", DJANGO_SETTINGS_MODULE="config.settings",
               PYTHONUNBUFFERED="1", KEFU_TORCH_THREADS="1")
    return env


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


async def visitor_conversation(url: str, n: int) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, origin=ORIGIN, open_timeout=20) as ws:
        await ws.send(json.dumps({"type": "hello", "token": "", "resume": []}))
        while json.loads(await asyncio.wait_for(ws.recv(), 20))["type"] != "ready":
            pass
        await ws.send(json.dumps({"type": "message", "client_msg_id": f"c{n}", "body": f"hello from visitor {n}"}))
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 20)))["type"] != "ack":
            assert frame["type"] != "error", frame


def dashboard(base: str, info: dict[str, str]) -> dict:
    response = requests.get(f"{base}/api/t/{info['slug']}/reporting/dashboard/",
                            headers={"Authorization": f"Bearer {info['key']}"}, timeout=10)
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_dashboard_numbers_change_within_one_rollup_period_without_any_command(tmp_path):
    env = embedded_env(tmp_path)
    run([sys.executable, "manage.py", "migrate", "--noinput"], env)
    info = json.loads(run([sys.executable, "-c", SETUP], env).strip().splitlines()[-1])
    port = free_port()
    log = open(tmp_path / "uvicorn.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([str(VENV_BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "uvicorn.log").read_text()[-3000:]
            try:
                before = dashboard(base, info)
                break
            except requests.ConnectionError:
                time.sleep(0.3)
        assert before["totals"]["conversations"] == 0

        url = f"ws://127.0.0.1:{port}/ws/widget/{info['widget']}/"
        async def three_visitors() -> None:
            await asyncio.wait_for(asyncio.gather(*(visitor_conversation(url, n) for n in range(3))), 60)

        asyncio.run(three_visitors())
        created = time.monotonic()
        while dashboard(base, info)["totals"]["conversations"] < 3:
            # One period for the next run, one for the run itself on this 2-core machine.
            assert time.monotonic() - created < 2 * PERIOD_S + 5, dashboard(base, info)
            time.sleep(0.5)
        print(f"dashboard showed the 3 conversations {time.monotonic() - created:.1f} s after they were created"
              f" (roll-up period {PERIOD_S} s)")
        after = dashboard(base, info)
        assert after["refreshed_at"] and after["refreshed_at"] != before["refreshed_at"]
        assert "embedded scheduler" in (tmp_path / "uvicorn.log").read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
