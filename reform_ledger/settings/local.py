"""The embedded default: SQLite, a Celery broker on the filesystem, mail printed to the console."""

from pathlib import Path

from .base import *  # noqa: F403
from .base import BASE_DIR, env

# Off by default: an office runs the embedded default for real, and a debug page shows every URL and setting.
# Static files are then served by WhiteNoise straight from the source folders (no collectstatic needed).
DEBUG = env.bool("DEBUG", default=False)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
SECRET_KEY = env.str("SECRET_KEY", default="local-development-only-not-secret")

_broker_dir = Path(env.str("CELERY_FILESYSTEM_DIR", default=str(BASE_DIR / "var" / "broker")))
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu's default is ./control, which put exchange files into whatever directory the worker ran in
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
