"""Where the server's milliseconds per message go during `make bench-chat`'s saturated run.

Two py-spy samplers watch the uvicorn process (without pausing it) while the load runs:
- `gil`: only the thread holding the GIL, so samples are the process's Python-side CPU
  time (one core at most: the GIL is the limit), by layer;
- `threads`: every thread py-spy does not see idle, which adds time spent waiting inside
  the database driver (round trips, commit flushes) on the socket threads.
Each sample goes to the first category found walking its stack from the innermost frame
out, so `ms_per_message` is time spent *in* that layer. The process's own CPU time (/proc)
over the same window is reported beside it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

RATE_HZ = 200
# (category, path fragments), checked in order against each frame's file.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("json encode/decode", ("/json/",)),
    ("psycopg (driver, round trips, commit)", ("/psycopg/", "/psycopg_pool/", "/psycopg_c/")),
    ("Django ORM / SQL compile", ("/django/db/",)),
    ("Redis (channel layer, rate limits)", ("/redis/", "/channels_redis/", "/msgpack/")),
    ("thread hop (sync_to_async, executor)", ("/asgiref/", "/concurrent/futures/", "/threading.py", "/queue.py")),
    ("Channels dispatch / consumers", ("/channels/",)),
    ("WebSocket protocol (uvicorn, websockets)", ("/uvicorn/", "/websockets/", "/h11/", "/wsproto/")),
    ("event loop (asyncio/uvloop: socket I/O, callbacks)", ("/asyncio/", "/selectors.py", "/uvloop/")),
    ("Django (signals, settings, utils)", ("/django/",)),
    ("Kefu code (chat, tenants, ml)", ("/chat/", "/tenants/", "/ml/", "/config/")),
]
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*):\d+\)$")


Handle = dict[str, tuple[subprocess.Popen, Path]]
MODES = {"gil": ["--gil"], "threads": []}


def start(pid: int, seconds: float) -> Handle | None:
    """Begin sampling `pid` for `seconds` (both modes); None when py-spy is not installed."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        return None
    handle: Handle = {}
    for mode, extra in MODES.items():
        out = Path(tempfile.mkstemp(suffix=".txt", prefix=f"kefu-chat-profile-{mode}-")[1])
        cmd = [exe, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))), "--rate", str(RATE_HZ),
               "--nonblocking", "--full-filenames", "--format", "raw", "--output", str(out), *extra]
        handle[mode] = (subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), out)
    return handle


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


IDLE = "idle threads (pool workers waiting for work)"
_IDLE_LEAVES = {"_worker", "wait", "get"}  # concurrent.futures worker loop, Condition.wait, queue.get


def _category(frames: list[str]) -> str:
    m = _FRAME.match(frames[-1]) if frames else None
    if m and m.group("func") in _IDLE_LEAVES and any(
        p in m.group("file") for p in ("/concurrent/futures/thread.py", "/threading.py", "/queue.py")
    ):
        return IDLE
    for frame in reversed(frames):
        m = _FRAME.match(frame)
        path = m.group("file") if m else frame
        for name, parts in CATEGORIES:
            if any(p in path for p in parts):
                return name
    return "other"


def _leaf(frames: list[str]) -> str:
    m = _FRAME.match(frames[-1]) if frames else None
    if not m:
        return frames[-1] if frames else "?"
    return f"{m.group('func')} ({'/'.join(m.group('file').split('/')[-2:])})"


def summarize(path: Path, *, messages: int) -> dict[str, Any]:
    """Collapsed stacks -> shares and ms per message by layer, plus the hottest functions."""
    by_cat: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = [f for f in stack.split(";") if f]
        count = int(n)
        total += count
        by_cat[_category(frames)] += count
        by_leaf[_leaf(frames)] += count
    sampled_s = total / RATE_HZ

    def per_msg(samples: int) -> float:
        return round(samples / RATE_HZ * 1000 / messages, 3) if messages else 0.0

    return {
        "samples": total,
        "sampled_s": round(sampled_s, 2),
        "ms_per_message_total": per_msg(total),
        "ms_per_message": {k: per_msg(v) for k, v in by_cat.most_common()},
        "share": {k: round(v / total, 3) for k, v in by_cat.most_common()} if total else {},
        "top_functions": [{"function": k, "share": round(v / total, 3)} for k, v in by_leaf.most_common(15)],
    }


def finish(handle: Handle | None, *, messages: int, cpu_s: float) -> dict[str, Any] | None:
    if handle is None:
        return None
    result: dict[str, Any] = {
        "method": f"py-spy {RATE_HZ} Hz, non-blocking; each sample in its innermost matching layer",
        "messages": messages,
        "process_cpu_s": round(cpu_s, 2),
        "process_cpu_ms_per_message": round(cpu_s * 1000 / messages, 3) if messages else None,
    }
    for mode, (proc, out) in handle.items():
        _, err = proc.communicate(timeout=120)
        try:
            if not out.exists() or not out.stat().st_size:
                result[mode] = {"error": (err or b"").decode(errors="replace")[-500:] or "no samples"}
            else:
                result[mode] = summarize(out, messages=messages)
        finally:
            out.unlink(missing_ok=True)
    return result
