"""Security headers on every answer, no inline script anywhere (CSP), CSRF on every form, a clean deploy check."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from departments.models import AuditEntry

TEMPLATES = Path(settings.BASE_DIR) / "templates"
WEB_TEMPLATES = [p for p in TEMPLATES.rglob("*.html") if "emails" not in p.parts]


@pytest.mark.parametrize("url", ["/login/", "/api/docs/", "/api/units/", "/healthz"])
def test_every_answer_carries_the_security_headers(client, db, url):
    response = client.get(url)
    csp = response["Content-Security-Policy"]
    for directive in [
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]:
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_api_docs_page_has_no_inline_script_or_style_and_its_script_is_served_locally(client, secretariat):
    client.force_login(secretariat)
    page = client.get("/api/docs/").content.decode()
    assert "<style" not in page
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert "http://" not in page and "https://" not in page  # no CDN
    init = client.get("/api/docs/?script=")
    assert (
        init.status_code == 200
        and "javascript" in init["Content-Type"]
        and "SwaggerUIBundle" in init.content.decode()
    )


@pytest.mark.parametrize("template", WEB_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_script_or_event_handlers(template):
    text = template.read_text(encoding="utf-8")
    inline = [
        m
        for m in re.finditer(r"<script(?P<attrs>[^>]*)>", text)
        if "src=" not in m.group("attrs") and "application/json" not in m.group("attrs")
    ]
    assert not inline, f"{template}: inline <script> is blocked by the CSP; move it to static/js/"
    assert not re.search(r"\son[a-z]+\s*=", text), f"{template}: inline event handler is blocked by the CSP"
    assert "javascript:" not in text


@pytest.mark.parametrize("template", WEB_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_post_form_carries_a_csrf_token(template):
    text = template.read_text(encoding="utf-8")
    for form in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, re.S | re.I):
        if re.search(r"method\s*=\s*[\"']?post", form.group(0)[:300], re.I):
            assert "{% csrf_token %}" in form.group(1), f"{template}: a POST form without {{% csrf_token %}}"


def test_a_post_without_csrf_token_is_refused_and_audited(db, reporter):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("departments:login"), {"username": "rep_a", "password": "Passw0rd!x"})
    assert response.status_code == 403
    assert AuditEntry.objects.filter(action="access_denied", message__contains="/login/").exists()


def test_a_forged_forwarded_for_header_does_not_change_the_recorded_address(client, db):
    client.post(
        reverse("departments:login"),
        {"username": "x", "password": "y"},
        REMOTE_ADDR="10.0.0.9",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
    )
    assert AuditEntry.objects.get(action="login_failed").ip == "10.0.0.9"


def test_behind_our_own_proxy_the_address_the_proxy_saw_is_recorded(client, db, settings):
    settings.NUM_PROXIES = 1
    client.post(
        reverse("departments:login"),
        {"username": "x", "password": "y"},
        REMOTE_ADDR="172.18.0.2",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 10.0.0.9",
    )
    assert AuditEntry.objects.get(action="login_failed").ip == "10.0.0.9"


def test_deploy_check_with_production_settings_reports_no_security_issue():
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="reform_ledger.settings.production",
        SECRET_KEY="k" * 20 + "-Zq8vL2pR7xN4mT1wB6yC3uH9sJ5dF0gK_eA",
        DATABASE_URL="postgres://u:p@localhost/db",
        CELERY_BROKER_URL="redis://localhost:6379/0",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    security = [line for line in (result.stdout + result.stderr).splitlines() if "security." in line]
    assert not security, security
