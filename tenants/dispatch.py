"""Enqueue a task after the current transaction commits (DESIGN.md conventions). Lives in
tenants (the apps' shared base) because apps never import the project package `config`.

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


def send(task: Task, *args: Any) -> None:
    """Send now: to the broker (raises when it is unreachable) or to the in-process pool."""
    if settings.KEFU_TASK_MODE == "celery":
        task.apply_async(args=args)
    else:
        _pool().submit(_run_inprocess, task, args)


def enqueue(task: Task, *args: Any) -> None:
    """Send now (outside a transaction) or when the surrounding transaction commits.

    Best effort: a broker error after the commit loses the task. Work that must not be lost
    goes through an outbox row written in the same transaction (chat.services.outbox)."""
    transaction.on_commit(lambda: send(task, *args))
