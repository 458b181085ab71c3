"""Production: PostgreSQL, Redis, gunicorn. Every secret comes from the environment; there are no defaults."""

from .base import *  # noqa: F403
from .base import env, planner_settings

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")  # no default: refuse to start without one
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
planner_settings(DATABASES["default"])
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
# Redis redelivers a job not acknowledged within this time (acks_late), so it is set here rather than left at
# Redis' one hour; reports.jobs caps every retry wait at half of it (an hour with this default).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=7200)}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# The health check is called over plain HTTP inside the container network (docker-compose, load balancer).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Intranet host names cannot be submitted to the browsers' public HSTS preload list, so the preload flag is
# off by default and its reminder is silenced; HSTS itself is on (SECURE_HSTS_SECONDS).
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Behind a reverse proxy / load balancer that terminates TLS, set NUM_PROXIES to the number of proxies in
# front of gunicorn: audit records and lockouts then use the address the nearest proxy saw (see base.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
