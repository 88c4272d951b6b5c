"""Fast inserts for large generated histories and roll-up rebuilds: PostgreSQL COPY when
available, bulk_create otherwise (SQLite in the embedded mode)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone


def insert(model: type[models.Model], objs: Sequence[models.Model], *, batch_size: int = 5000) -> None:
    """Insert `objs` (no ids needed back). Every concrete non-pk column is written."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=batch_size)  # type: ignore[attr-defined]
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    json_cols = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
    table = connection.ops.quote_name(model._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cur:
        raw: Any = cur.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for obj in objs:
                row = []
                for i, f in enumerate(fields):
                    v = getattr(obj, f.attname)
                    if v is None and (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)):
                        v = now
                    if i in json_cols:
                        v = json.dumps(v)
                    row.append(v)
                copy.write_row(row)
