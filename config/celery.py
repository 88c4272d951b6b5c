"""The Celery app: four queues and the beat schedule (DESIGN.md, "Processes").

inference: one process per GPU/CPU slot, model loaded once per process (chat replies);
embedding: article embeddings and knowledge imports, on a worker of their own, so a tenant's
           1,500-row import never queues in front of anyone's reply (issue 9 #7);
training: per-tenant retraining; default: everything else (outbox sweeps, housekeeping).
Delivery settings (visibility timeout, publish retries, outbox) live in config/settings.py.
"""

import logging
import os
import threading

from celery import Celery
from celery.signals import worker_process_init
from kombu import Queue

from config.schedule import beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kefu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("inference"), Queue("embedding"), Queue("training"))
app.conf.task_default_queue = "default"
app.conf.task_routes = {
    "chat.tasks.respond": {"queue": "inference"},
    "ml.tasks.embed_article": {"queue": "embedding"},
    "ml.tasks.run_import": {"queue": "embedding"},
    "ml.tasks.retrain_tenant": {"queue": "training"},
    "ml.tasks.retrain_retrieval": {"queue": "training"},
}


@app.on_after_configure.connect
def _set_beat_schedule(sender: Celery, **_kwargs: object) -> None:
    """config/schedule.py, shared with the embedded server. Set once Celery reads its
    configuration, not at import: importing the `config` package must not load Django's
    settings, because config/asgi.py chooses the web process's (KEFU_DB_POOL) first."""
    sender.conf.beat_schedule = beat_schedule()


app.autodiscover_tasks()


@worker_process_init.connect
def warm_up_inference_process(**_kwargs: object) -> None:
    """Inference processes (KEFU_WARM_UP=1, see platform/Procfile) load their models once,
    at start, so the first visitor does not wait for them.

    In a background thread: billiard kills a child that has not reported in within 4 s
    (worker_proc_alive_timeout) and loading took ~8 s, so after a child crash every
    replacement was killed in a loop and no tenant got a reply (issue 9 #2). A task that
    arrives meanwhile waits on the models' load locks instead."""
    if os.environ.get("KEFU_WARM_UP") != "1":
        return
    threading.Thread(target=_warm_up, name="kefu-warm-up", daemon=True).start()


def _warm_up() -> None:
    from ml.api import warm_up

    logging.getLogger(__name__).info("warm-up: %s", warm_up())
