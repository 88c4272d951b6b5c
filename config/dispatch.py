"""Enqueue a task after the current transaction commits (DESIGN.md conventions).

In production (`KEFU_TASK_MODE=celery`) the task goes to its Celery queue. In the embedded
default (`inprocess`) the *same task code* runs in a thread pool inside the server
process, so the demo needs no broker and no worker.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Task
from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.KEFU_INPROCESS_WORKERS, thread_name_prefix="kefu-task")
    return _executor


def _run_inprocess(task: Task, args: tuple[Any, ...]) -> None:
    close_old_connections()
    try:
        result = task.apply(args=args)
        if result.failed():
            logger.error("in-process task %s%r failed: %s", task.name, args, result.result)
    finally:
        close_old_connections()


def enqueue(task: Task, *args: Any) -> None:
    """Send now (outside a transaction) or when the surrounding transaction commits."""

    def send() -> None:
        if settings.KEFU_TASK_MODE == "celery":
            task.apply_async(args=args)
        else:
            _pool().submit(_run_inprocess, task, args)

    transaction.on_commit(send)
