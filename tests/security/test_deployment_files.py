"""The deployment files stay complete: every setting read from the environment is documented in .env.example,
and docker-compose.yml has the production shape (one beat, health checks, volumes)."""

import re
from pathlib import Path

import yaml
from django.conf import settings

BASE = Path(settings.BASE_DIR)


def test_env_example_lists_every_variable_the_settings_read():
    read = set()
    for path in (BASE / "reform_ledger" / "settings").glob("*.py"):
        read |= set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", path.read_text(encoding="utf-8")))
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (BASE / ".env.example").read_text(encoding="utf-8"), re.M)
    )
    assert read and not (read - documented), f"missing from .env.example: {sorted(read - documented)}"


def test_compose_runs_web_worker_one_beat_postgresql_and_redis_with_health_checks():
    compose = yaml.safe_load((BASE / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["db"]["image"] == "postgres:15" and services["redis"]["image"] == "redis:7"
    assert "gunicorn" in services["web"]["command"] and "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"] and services["beat"]["deploy"]["replicas"] == 1
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    for name in ("web", "worker", "beat", "migrate"):
        assert services[name]["env_file"] == ".env" and "media:/app/media" in services[name]["volumes"]
    assert {"pgdata", "media"} <= set(compose["volumes"])


def test_dockerfile_runs_as_a_non_root_user_and_collects_static_files():
    text = (BASE / "Dockerfile").read_text(encoding="utf-8")
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "collectstatic" in text and "pip install ." in text and "gunicorn" in text
    assert re.search(r"^USER app$", text, re.M)
