# 医改台账 production image: gunicorn serving the app, WhiteNoise serving the static files.
# The same image runs the web, worker, beat and one-off (migrate, backup, restore) containers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=reform_ledger.settings.production \
    MEDIA_ROOT=/app/media \
    STATIC_ROOT=/app/staticfiles

# pg_dump/pg_restore (15, as the database) for `manage.py backup` / `restore`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN pip install .
COPY . .

# Static files are collected at build time (hashed names, compressed); settings need placeholder values only.
RUN SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.sqlite3 CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput \
    && rm -f /tmp/build.sqlite3

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/media /app/backups /app/var \
    && chown -R app:app /app/media /app/backups /app/var
USER app

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

CMD ["gunicorn", "reform_ledger.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "60", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
