"""`make bench-chat`: widget sockets on the production-style stack vs a plain `websockets`
echo server, measured in the same run on this machine.

Starts uvicorn (config.asgi) against a fresh PostgreSQL database `<name>_bench` with the
Redis channel layer, and a `websockets` echo server in its own process. Then:
- saturated throughput, N = 100 and 1,000 sockets, each sending its next message when the
  previous one is acknowledged (messages/s, and the ratio to the echo server);
- send->ack latency p50/p99 at a fixed offered load: 1,000 sockets, one message every 2 s each.
Conversations are human-handled, so no inference runs: this measures the chat path
(persist with seq + dedup, ack, fan-out to the inbox group). Writes bench-results/chat.json.
The load generator is one Python process on the same 2 cores as the servers.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from chat import bench_profile
from tenants.scratch_db import recreate_scratch_database

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "https://bench.example"
SATURATE_S = float(os.environ.get("BENCH_SATURATE_S", "8"))
LATENCY_S = float(os.environ.get("BENCH_LATENCY_S", "12"))
# Server settings to compare: uvicorn worker processes and WebSocket implementation
# (auto = websockets-sansio with uvicorn 0.54; or websockets, wsproto).
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
WS_IMPL = os.environ.get("BENCH_WS", "auto")
# py-spy over the saturated chat runs (one worker): where the milliseconds per message go.
PROFILE = os.environ.get("BENCH_PROFILE", "1") == "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


ECHO_SERVER = """
import asyncio, sys
from websockets.asyncio.server import serve
async def echo(ws):
    async for m in ws:
        await ws.send(m)
async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), max_queue=None, compression=None):
        await asyncio.Future()
asyncio.run(main())
"""


def prepare(n_contacts: int) -> tuple[str, list[str]]:
    """Fresh bench database, one widget, n contacts with human-handled conversations."""
    url = recreate_scratch_database(suffix="_bench")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from chat import services
    from chat.models import Contact, Conversation
    from tenants.models import Membership, Tenant, Widget

    tenant = Tenant.objects.create(name="Bench", slug="bench")
    user = get_user_model().objects.create_user(username="bench@example.com", password="x" * 12)
    Membership.objects.create(tenant=tenant, user=user, role="owner")
    widget = Widget.objects.create(
        tenant=tenant, name="bench", public_key="wk_bench", identity_secret="s", allowed_origins=[ORIGIN]
    )
    contacts = Contact.objects.bulk_create([Contact(tenant=tenant, widget=widget) for _ in range(n_contacts)])
    Conversation.objects.bulk_create(
        [Conversation(tenant=tenant, widget=widget, contact=c, handled_by="human") for c in contacts]
    )
    return url, [services.make_visitor_token(contact=c) for c in contacts]


class Client:
    def __init__(self, url: str, chat: bool, token: str = "", origin: str = ORIGIN) -> None:
        self.url, self.chat, self.token, self.origin = url, chat, token, origin
        self.ws: Any = None
        self.i = 0
        self.conversation_id: int | None = None  # as the widget: the conversation of the last ack

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, origin=self.origin, open_timeout=60, compression=None, max_queue=None)  # type: ignore[arg-type]
        if self.chat:
            await self.ws.send(json.dumps({"type": "hello", "token": self.token}))
            while (ready := json.loads(await self.ws.recv()))["type"] != "ready":
                pass
            # As the widget does (static/chat/widget.js): write to the open conversation the
            # ready frame lists, so the first message takes the same path as the rest.
            open_ids = [c["id"] for c in ready.get("conversations", []) if c.get("status") != "resolved"]
            self.conversation_id = self.conversation_id or (open_ids[0] if open_ids else None)

    async def roundtrip(self) -> float:
        assert self.ws is not None
        self.i += 1
        cmid = f"b{id(self)}-{self.i}-{random.random()}"[:60]
        frame = json.dumps(
            {
                "type": "message",
                "client_msg_id": cmid,
                "body": f"bench message {self.i}",
                "conversation_id": self.conversation_id,
            }
        )
        t0 = time.perf_counter()
        await self.ws.send(frame)
        while True:
            reply = await self.ws.recv()
            if not self.chat:
                break
            data = json.loads(reply)
            if data.get("type") == "ack" and data.get("client_msg_id") == cmid:
                self.conversation_id = data["conversation"]["id"]
                break
            if data.get("type") == "error":
                raise RuntimeError(data)
        return time.perf_counter() - t0

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def open_all(clients: list[Client]) -> None:
    for i in range(0, len(clients), 50):
        await asyncio.gather(*(c.open() for c in clients[i : i + 50]))


async def saturate(clients: list[Client], seconds: float) -> float:
    count = 0
    stop = time.perf_counter() + seconds

    async def loop(c: Client) -> None:
        nonlocal count
        while time.perf_counter() < stop:
            await c.roundtrip()
            count += 1

    start = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in clients))
    return count / (time.perf_counter() - start)


async def fixed_load(clients: list[Client], seconds: float, every: float = 2.0) -> dict[str, float]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def loop(c: Client) -> None:
        await asyncio.sleep(random.uniform(0, every))
        while time.perf_counter() < stop:
            t = time.perf_counter()
            latencies.append(await c.roundtrip())
            await asyncio.sleep(max(0.0, every - (time.perf_counter() - t)))

    await asyncio.gather(*(loop(c) for c in clients))
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    # Closed loop: a socket whose ack is late sends its next message late, so when the
    # server cannot keep up the achieved rate falls below the offered one and the
    # latencies are queueing time. Compare `achieved_per_s` with `offered_per_s`.
    return {
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "messages": len(latencies),
        "offered_per_s": len(clients) / every,
        "achieved_per_s": len(latencies) / seconds,
    }


async def profiled_saturate(clients: list[Client], server_pid: int | None) -> tuple[float, dict | None]:
    """Saturated run of the chat server with py-spy sampling it (chat.bench_profile)."""
    if server_pid is None:
        return await saturate(clients, SATURATE_S), None
    handle = bench_profile.start(server_pid, SATURATE_S)
    cpu0 = bench_profile.cpu_seconds(server_pid)
    rate = await saturate(clients, SATURATE_S)
    cpu_s = bench_profile.cpu_seconds(server_pid) - cpu0
    profile = await asyncio.to_thread(bench_profile.finish, handle, messages=round(rate * SATURATE_S), cpu_s=cpu_s)
    return rate, profile


async def run_all(chat_url: str, echo_url: str, tokens: list[str], server_pid: int | None = None) -> dict:
    results: dict = {"saturated": {}, "latency": {}, "profile": {}}
    for n in (100, 1000):
        row = {}
        for kind, url in (("echo", echo_url), ("chat", chat_url)):
            clients = [Client(url, kind == "chat", tokens[i] if kind == "chat" else "") for i in range(n)]
            await open_all(clients)
            if kind == "chat":
                row[kind], results["profile"][str(n)] = await profiled_saturate(clients, server_pid)
            else:
                row[kind] = await saturate(clients, SATURATE_S)
            await asyncio.gather(*(c.close() for c in clients))
        row["ratio"] = row["chat"] / row["echo"]
        results["saturated"][str(n)] = row
    for kind, url in (("echo", echo_url), ("chat", chat_url)):
        clients = [Client(url, kind == "chat", tokens[i] if kind == "chat" else "") for i in range(1000)]
        await open_all(clients)
        results["latency"][kind] = await fixed_load(clients, LATENCY_S)
        await asyncio.gather(*(c.close() for c in clients))
    return results


def summary(results: dict) -> dict[str, Any]:
    """Targets of issue 14 beside what this run measured (load average: others share the box)."""
    sat, lat = results["saturated"], results["latency"]["chat"]
    prof = results.get("profile", {}).get("100") or {}
    return {
        "saturated_ratio_100": round(sat["100"]["ratio"], 4),
        "saturated_ratio_1000": round(sat["1000"]["ratio"], 4),
        "target_ratio": 0.10,
        "fixed_load_achieved_per_s": round(lat["achieved_per_s"], 1),
        "fixed_load_offered_per_s": lat["offered_per_s"],
        "fixed_load_p99_ms": round(lat["p99_ms"], 1),
        "targets": {"achieved_per_s": 495, "p99_ms": 250},
        "server_cpu_ms_per_message_100": prof.get("process_cpu_ms_per_message"),
        "where_the_cpu_ms_go_100": (prof.get("gil") or {}).get("ms_per_message"),
        "where_the_thread_ms_go_100": (prof.get("threads") or {}).get("ms_per_message"),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def print_profile(profiles: dict) -> None:
    for n, prof in profiles.items():
        if not prof:
            continue
        print(f"\nserver profile, saturated N={n}: {prof['process_cpu_ms_per_message']} process CPU ms/message")
        for mode in ("gil", "threads"):
            part = prof.get(mode) or {}
            if "ms_per_message" not in part:
                print(f"  {mode}: {part.get('error')}")
                continue
            print(f"  {mode} ({part['ms_per_message_total']} ms/message sampled)")
            for name, ms in part["ms_per_message"].items():
                print(f"    {name:<52}{ms:>8.3f} ms/msg {part['share'][name]:>7.1%}")


def main() -> None:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    db_url, tokens = prepare(1000)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        KEFU_TASK_MODE="inprocess",
        KEFU_DB_CONN_MAX_AGE="600",
        KEFU_VISITOR_MESSAGES_PER_MINUTE="0",
        KEFU_WIDGET_MESSAGES_PER_MINUTE="0",
        KEFU_IP_MESSAGES_PER_MINUTE="0",  # every simulated visitor comes from 127.0.0.1
        KEFU_IP_NEW_VISITORS_PER_HOUR="0",
        KEFU_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    chat_port, echo_port = free_port(), free_port()
    uv = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(chat_port),
         "--log-level", "warning", "--no-access-log", "--ws-max-size", "65536", "--ws", WS_IMPL,
         "--workers", str(WORKERS)],
        cwd=ROOT, env=env, start_new_session=True,
    )
    echo = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(echo_port)], start_new_session=True)
    try:
        wait_port(chat_port, uv)
        wait_port(echo_port, echo)
        results = asyncio.run(
            run_all(
                f"ws://127.0.0.1:{chat_port}/ws/widget/wk_bench/", f"ws://127.0.0.1:{echo_port}/", tokens,
                server_pid=uv.pid if WORKERS == 1 and PROFILE else None,
            )
        )
    finally:
        for proc in (uv, echo):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(10)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
        "saturate_s": SATURATE_S,
        "latency_s": LATENCY_S,
        "workers": WORKERS,
        "ws": WS_IMPL,
    }
    results = {"summary": summary(results), **results}
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "chat.json").write_text(json.dumps(results, indent=2))
    print_profile(results["profile"])
    print(f"{'test':<44}{'echo':>12}{'chat':>12}{'ratio':>8}")
    for n, row in results["saturated"].items():
        print(f"{'saturated msgs/s, N=' + n:<44}{row['echo']:>12.0f}{row['chat']:>12.0f}{row['ratio']:>8.2f}")
    for key in ("p50_ms", "p99_ms", "achieved_per_s"):
        e, c = results["latency"]["echo"][key], results["latency"]["chat"][key]
        label = "send->ack " + key if key != "achieved_per_s" else "msgs/s achieved (offered 500)"
        print(f"{label + ', 1000 sockets @ 0.5/s':<44}{e:>12.1f}{c:>12.1f} {c / e:>8.2f}")
    print("written to bench-results/chat.json")


if __name__ == "__main__":
    main()
