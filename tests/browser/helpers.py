"""Helpers for browser journeys (Playwright sync API, Debian's chromium)."""

from __future__ import annotations

import os
import shutil

# Debian's chromium: Playwright must not download browsers (the intranet/CI has no internet).
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",  # the closed network refuses chromium's own background calls
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """CHROMIUM_PATH from the environment, else Debian's /usr/bin/chromium, else whatever `chromium` is on PATH."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def login(page, live_url: str, username: str, password: str):
    """Signs in through the real login form and waits until the browser has left the login page."""
    from django.urls import reverse

    page.goto(live_url + reverse("departments:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit], input[type=submit]")
    if reverse("departments:login") in page.url:
        raise AssertionError(f"login as {username!r} failed: still on {page.url}")
    return page
