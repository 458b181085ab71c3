"""Tests: PostgreSQL when DATABASE_URL is set (the test command sets it), SQLite otherwise.

The real Celery worker started by the `celery_worker` fixture also uses these settings, with DATABASE_URL
pointing at the test database pytest-django created and CELERY_TASK_ALWAYS_EAGER=0.
"""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-not-secret"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
# A worker killed mid-job leaves the job unacknowledged; Redis hands it out again after this many seconds.
# Production keeps Celery's hour; the worker tests shorten it so a restarted worker picks the job up quickly.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
MEDIA_ROOT = env.str("MEDIA_ROOT", default="/tmp/reform-ledger-test-media")
# Tests never run collectstatic: WhiteNoise serves straight from the finders (and does not warn about
# a missing STATIC_ROOT, which filterwarnings=error would turn into a failure).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# The reminder tests' robot (tests/reminders/webhook_server.py) listens on the loopback over plain http.
WEBHOOK_ALLOWED_HOSTS = [*WEBHOOK_ALLOWED_HOSTS, "127.0.0.1"]  # noqa: F405
WEBHOOK_ALLOW_HTTP_HOSTS = ["127.0.0.1"]
