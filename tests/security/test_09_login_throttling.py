"""Issue 9, item 9: log-in throttling per account and per address, shared through Redis.

Before the fix 50 parallel + 150 sequential wrong passwords were all answered 200 (the
log-in page again) and then the right password logged in. Now: at most the limit's worth
of password checks per account, every other attempt 429 (with Retry-After), the right
password refused until the cool-off ends, and the count shared by two real uvicorn
processes through Redis. Limits are lowered through the servers' environment / settings.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from tenants import login_throttle
from tests.processes import uvicorn_server

PASSWORD = "correct-horse-battery-9"
VICTIM = "victim@alpha.example.com"
BYSTANDER = "bystander@alpha.example.com"
LIMIT = 5
COOLOFF_S = 6


@pytest.fixture
def accounts(transactional_db, settings):
    # Hashed with Django's default hasher: the uvicorn processes do not know the tests' MD5.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    users = get_user_model()
    for email in (VICTIM, BYSTANDER):
        users.objects.create_user(username=email, email=email, password=PASSWORD)
    login_throttle.reset(username=VICTIM, ip="127.0.0.1")
    yield
    # Never leave a locked account or address behind for the rest of the suite.
    for email in (VICTIM, BYSTANDER):
        login_throttle.reset(username=email, ip="127.0.0.1")


def _log_in(base: str, username: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as http:
        page = http.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return http.post("/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": token})


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis: the count is shared between processes")
def test_09_wrong_passwords_lock_the_account_across_two_processes(accounts, tmp_path):
    env = {"KEFU_LOGIN_FAILURES_PER_ACCOUNT": str(LIMIT), "KEFU_LOGIN_FAILURES_PER_IP": "1000", "KEFU_SECURE_COOKIES": "0",
           "KEFU_LOGIN_COOLOFF_S": str(COOLOFF_S), "KEFU_LOGIN_WINDOW_S": "600"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with uvicorn_server(tmp_path / "a", **env) as server_a, uvicorn_server(tmp_path / "b", **env) as server_b:
        bases = [server_a, server_b]
        with ThreadPoolExecutor(max_workers=50) as pool:
            burst = list(pool.map(lambda i: _log_in(bases[i % 2], VICTIM, f"wrong-{i}").status_code, range(50)))
        print(f"\nlogin burst over 2 processes: {burst.count(200)} password checks, {burst.count(429)} refused (429)")
        # Only the limit's worth of guesses reached a password check (200: the form again).
        assert burst.count(200) <= LIMIT and burst.count(429) >= 50 - LIMIT, burst
        assert set(burst) <= {200, 429}
        sequential = [_log_in(bases[i % 2], VICTIM, f"again-{i}") for i in range(20)]
        assert all(r.status_code == 429 for r in sequential)
        assert int(sequential[-1].headers["Retry-After"]) <= COOLOFF_S
        assert "Too many failed log-ins" in sequential[-1].text
        # The right password is refused during the lock-out, on either process.
        for base in bases:
            assert _log_in(base, VICTIM, PASSWORD).status_code == 429
        # Another account from the same address is not locked.
        assert _log_in(server_b, BYSTANDER, PASSWORD).status_code == 302
        time.sleep(COOLOFF_S + 1)
        assert _log_in(server_a, VICTIM, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_09_password_spraying_locks_the_address(client, settings, team_a, team_b):
    """Many accounts, one wrong password each, from one address: the address is locked
    (429 even for a right password from it); another address still logs in."""
    settings.KEFU_LOGIN_FAILURES_PER_IP = 4
    settings.KEFU_LOGIN_FAILURES_PER_ACCOUNT = 100
    spray_ip, other_ip = "203.0.113.7", "198.51.100.3"
    members = [team_a.owner, team_a.admin, team_a.agent, team_b.owner, team_b.admin, team_b.agent]
    emails = [m.user.email for m in members]
    try:
        codes = [client.post("/login/", {"username": e, "password": "nope-nope"}, REMOTE_ADDR=spray_ip).status_code
                 for e in emails[:5]]
        assert codes == [200, 200, 200, 200, 429]
        right = client.post("/login/", {"username": emails[5], "password": "correct-horse-9"}, REMOTE_ADDR=spray_ip)
        assert right.status_code == 429 and "Retry-After" in right
        ok = client.post("/login/", {"username": emails[5], "password": "correct-horse-9"}, REMOTE_ADDR=other_ip)
        assert ok.status_code == 302
    finally:
        for email in emails:
            login_throttle.reset(username=email, ip=spray_ip)
        login_throttle.reset(ip=other_ip)


@pytest.mark.django_db
def test_09_good_log_ins_do_not_unlock_a_guessing_address(client, settings, team_a):
    """A success gives back only its own reservation on the address: an attacker with one
    valid account cannot interleave good log-ins to keep guessing others."""
    settings.KEFU_LOGIN_FAILURES_PER_IP = 3
    ip = "203.0.113.77"
    try:
        for _ in range(2):
            assert client.post("/login/", {"username": team_a.admin.user.email, "password": "x-wrong"},
                               REMOTE_ADDR=ip).status_code == 200
            assert client.post("/login/", {"username": team_a.owner.user.email, "password": "correct-horse-9"},
                               REMOTE_ADDR=ip).status_code == 302
            client.logout()
        assert client.post("/login/", {"username": team_a.agent.user.email, "password": "x-wrong"},
                           REMOTE_ADDR=ip).status_code == 200
        assert client.post("/login/", {"username": team_a.agent.user.email, "password": "x-wrong"},
                           REMOTE_ADDR=ip).status_code == 429
    finally:
        for m in (team_a.owner, team_a.admin, team_a.agent):
            login_throttle.reset(username=m.user.email, ip=ip)


@pytest.mark.embedded
@pytest.mark.django_db
def test_09_embedded_mode_throttles_in_process_memory(client, settings, team_a):
    """The embedded default (one process) keeps the counts in Django's local-memory cache."""
    if not settings.EMBEDDED:
        pytest.skip("embedded default only")
    assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    settings.KEFU_LOGIN_FAILURES_PER_ACCOUNT = 2
    email = team_a.agent.user.email
    try:
        codes = [client.post("/login/", {"username": email, "password": "bad-pass-1"}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert client.post("/login/", {"username": email, "password": "correct-horse-9"}).status_code == 429
    finally:
        login_throttle.reset(username=email, ip="127.0.0.1")
