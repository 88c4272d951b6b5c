"""Inbox search (issue 13 #4): trigram GIN indexes for substring search over message
bodies and contact names/e-mails on PostgreSQL. Trigrams rather than a tsvector because
the 'simple' text-search config keeps a run of Chinese characters as one token, so "退款"
would not find "我要退款"; the indexes serve Django's `icontains` (UPPER(col) LIKE UPPER(%q%))
directly. SQLite (embedded mode) has no such index and scans."""

from django.db import migrations

_INDEXES = {
    "msg_body_trgm": 'ON chat_message USING gin (UPPER("body") gin_trgm_ops)',
    "contact_name_trgm": 'ON chat_contact USING gin (UPPER("name") gin_trgm_ops)',
    "contact_email_trgm": 'ON chat_contact USING gin (UPPER("email") gin_trgm_ops)',
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, spec in _INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {spec}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in _INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("chat", "0006_attachment")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
