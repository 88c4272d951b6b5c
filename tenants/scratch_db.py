"""A fresh scratch PostgreSQL database for a bench run (chat's and ml's benches share this;
tenants is the one package both may import)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit


def recreate_scratch_database(*, suffix: str) -> str:
    """Drop and create the database named like DATABASE_URL's (default: the local `kefu`) plus
    `suffix`, and point DATABASE_URL and DJANGO_SETTINGS_MODULE at it (Django is not set up
    yet). Returns its URL."""
    import psycopg

    base = urlsplit(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/kefu"))
    url = urlunsplit(base._replace(path=(base.path.rstrip("/") or "/kefu") + suffix))
    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return url
