"""Shared fixtures. Two tenants are always present (healthchecks' owner/member/outsider,
Zulip's second realm): every test can check that tenant B stays invisible to tenant A."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

from tenants.models import Membership, Role, Tenant


@dataclass
class Team:
    tenant: Tenant
    owner: Membership
    admin: Membership
    agent: Membership


def make_team(slug: str) -> Team:
    User = get_user_model()
    tenant = Tenant.objects.create(name=f"Tenant {slug.upper()}", slug=slug)
    members = {}
    for role in (Role.OWNER, Role.ADMIN, Role.AGENT):
        email = f"{role}@{slug}.example.com"
        user = User.objects.create_user(username=email, email=email, password="correct-horse-9")
        members[role] = Membership.objects.create(tenant=tenant, user=user, role=role)
    return Team(tenant=tenant, owner=members[Role.OWNER], admin=members[Role.ADMIN], agent=members[Role.AGENT])


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A test database per pytest process (test_kefu_<pid>), so that runs started at the
    same time on one machine (developers, CI, benchmarks) never drop each other's."""
    from django.conf import settings

    for alias in settings.DATABASES:
        test = settings.DATABASES[alias].setdefault("TEST", {})
        if settings.DATABASES[alias]["ENGINE"].endswith("postgresql"):
            test["NAME"] = f"test_{settings.DATABASES[alias]['NAME']}_{os.getpid()}"


@pytest.fixture(scope="session", autouse=True)
def _drop_stray_connections_at_the_end(django_db_setup, django_db_blocker):
    """Threads of database_sync_to_async and killed subprocesses can leave sessions open,
    which would keep the test database from being dropped."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _tasks_in_process_unless_celery_test(request, settings):
    # Only tests marked `celery` talk to a real worker; the rest must not leave tasks
    # queued in the shared Redis broker for a later test's worker to pick up.
    if request.node.get_closest_marker("celery") is None:
        settings.KEFU_TASK_MODE = "inprocess"


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings, monkeypatch):
    """chat.ratelimit's counters (in Redis, they outlive a test) of this test alone, also in
    the servers it starts (tests.processes copies the environment)."""
    prefix = f"kefu:rl:test:{uuid.uuid4().hex}:"
    settings.KEFU_RATELIMIT_PREFIX = prefix
    monkeypatch.setenv("KEFU_RATELIMIT_PREFIX", prefix)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's many rounds make every created user cost ~0.3 s on this machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team_a(db) -> Team:
    return make_team("alpha")


@pytest.fixture
def team_b(db) -> Team:
    return make_team("bravo")


@pytest.fixture
def outsider(db):
    User = get_user_model()
    return User.objects.create_user(username="outsider@example.com", email="outsider@example.com", password="correct-horse-9")
