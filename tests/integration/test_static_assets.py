"""Everything the browser loads is ours: Swagger UI from drf-spectacular-sidecar, collectstatic works."""

import re

import pytest
from django.core.management import call_command
from django.test import override_settings

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)


@pytest.mark.django_db
def test_api_docs_page_loads_swagger_ui_from_our_own_static_files(client, secretariat):
    client.force_login(secretariat)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert EXTERNAL.search(html) is None, "the API docs page must not load anything from another host"
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+\.(?:js|css))["']""", html)
    assert any("swagger-ui" in a for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset


@pytest.mark.django_db
def test_openapi_schema_is_served(client, secretariat):
    client.force_login(secretariat)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_collectstatic_with_the_production_storage_finds_every_referenced_file(tmp_path):
    """The manifest storage (production uses it, plus compression) fails on a url() to a missing file."""
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", "--noinput", verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
    assert (tmp_path / "css" / "app.css").exists()
    assert (tmp_path / "drf_spectacular_sidecar" / "swagger-ui-dist" / "swagger-ui-bundle.js").exists()
