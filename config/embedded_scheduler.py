"""The beat schedule inside the embedded server (`make demo`: no Redis, no beat process).

`with_embedded_scheduler` wraps the ASGI application: at lifespan start-up of an embedded
server (settings.EMBEDDED, in-process tasks, KEFU_EMBEDDED_SCHEDULER on) it starts one
thread that runs each entry of config.schedule.beat_schedule() on its period, with the
same Celery task code (task.apply() in this process), one task at a time, so dashboards
refresh, idle bot conversations auto-resolve and scheduled retraining happens without a
broker. Interval entries run once right after start-up (a fresh demo shows numbers at
once); crontab entries wait for their time. Importing this module starts nothing (tests
that import config.asgi get no thread).
"""

from __future__ import annotations

import importlib
import logging
import threading
from datetime import timedelta
from typing import Any

from celery.schedules import schedule as every
from django.conf import settings
from django.db import close_old_connections

from config.celery import app as celery_app

logger = logging.getLogger(__name__)
MAX_SLEEP_S = 5.0


class EmbeddedScheduler:
    def __init__(self, entries: dict[str, dict[str, Any]]) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="kefu-scheduler", daemon=True)
        self.entries: list[dict[str, Any]] = []
        for name, entry in entries.items():
            sched = entry["schedule"]
            if isinstance(sched, int | float):
                sched = every(timedelta(seconds=sched), app=celery_app)
            else:
                sched.app = celery_app
            # An interval entry is due at once; a crontab entry counts from now.
            last = sched.now() - sched.run_every if isinstance(sched, every) else sched.now()
            self.entries.append({"name": name, "task": entry["task"], "schedule": sched, "last": last})

    def start(self) -> None:
        self.thread.start()
        logger.info("embedded scheduler: %s", ", ".join(e["name"] for e in self.entries))

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)

    def run_due(self) -> float:
        """Run every due entry; seconds until the next one is due."""
        sleep = MAX_SLEEP_S
        for entry in self.entries:
            if self.stop_event.is_set():
                break
            due, next_s = entry["schedule"].is_due(entry["last"])
            if due:
                entry["last"] = entry["schedule"].now()
                run_task(entry["task"])
            sleep = min(sleep, max(float(next_s), 0.1))
        return sleep

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            self.stop_event.wait(self.run_due())


def run_task(name: str) -> None:
    """The Celery task `name`, run here and now (its module imported first, as a worker does)."""
    close_old_connections()
    try:
        importlib.import_module(name.rsplit(".", 1)[0])
        result = celery_app.tasks[name].apply()
        if result.failed():
            logger.error("scheduled task %s failed: %s", name, result.result)
    except Exception:  # noqa: BLE001 - one failing entry must not stop the schedule
        logger.exception("scheduled task %s could not run", name)
    finally:
        close_old_connections()


def embedded_scheduler_enabled() -> bool:
    return bool(settings.EMBEDDED and settings.KEFU_TASK_MODE == "inprocess" and settings.KEFU_EMBEDDED_SCHEDULER)


def with_embedded_scheduler(app: Any) -> Any:
    """ASGI wrapper: starts the scheduler on lifespan start-up, stops it on shutdown."""
    scheduler: EmbeddedScheduler | None = None

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal scheduler
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if embedded_scheduler_enabled() and scheduler is None:
                    from config.schedule import beat_schedule

                    scheduler = EmbeddedScheduler(beat_schedule())
                    scheduler.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if scheduler is not None:
                    scheduler.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return wrapped
