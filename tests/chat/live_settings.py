"""Settings for chat's live-server tests: the real settings plus the plumbing fake analyzer
(tests/chat/fake_ml.py) so browser and fault tests do not load models."""

from config.settings import *  # noqa: F403

KEFU_CHAT_ANALYZER = "tests.chat.fake_ml.analyze_and_reply"
# The test process hashes fixture passwords with MD5 for speed (tests/conftest.py).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]
