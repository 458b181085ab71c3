"""Every API error is JSON with a Chinese message (404 for an unknown URL, 500, a body that is not an object);
the schema and docs need a sign-in; every audited action records the source address."""

import pytest
from django.test import Client
from django.urls import path

from departments.models import AuditEntry


def _boom(request):
    raise RuntimeError("故意的错误")


urlpatterns = [path("api/boom/", _boom), path("boom/", _boom)]
handler500 = "reform_ledger.views.server_error"  # as reform_ledger.urls sets it


@pytest.mark.django_db
def test_an_unknown_api_url_answers_json_in_chinese(api_as, secretariat):
    r = api_as(secretariat).get("/api/no-such-thing/")
    assert r.status_code == 404 and r["Content-Type"].startswith("application/json")
    assert "未找到" in r.json()["detail"] and "/api/no-such-thing/" in r.json()["detail"]


@pytest.mark.django_db
@pytest.mark.urls("tests.security.test_api_errors_and_hardening")
def test_a_server_error_answers_json_under_api_and_a_chinese_page_elsewhere(secretariat):
    c = Client(raise_request_exception=False)
    c.force_login(secretariat)
    r = c.get("/api/boom/")
    assert r.status_code == 500 and r["Content-Type"].startswith("application/json")
    assert "服务器内部错误" in r.json()["detail"] and "故意" not in r.json()["detail"]
    r = c.get("/boom/")
    assert r.status_code == 500 and "服务器" in r.content.decode() and "Traceback" not in r.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["null", "1", '"x"', "[1, 2]", "{"])
def test_a_body_that_is_not_a_json_object_is_refused_with_400_not_500(api_as, secretariat, body):
    from tests.factories import PeriodFactory

    period = PeriodFactory(year=2025, quarter=1, is_open=False)
    r = api_as(secretariat).generic(
        "PATCH", f"/api/periods/{period.pk}/", body, content_type="application/json"
    )
    assert r.status_code == 400 and "JSON" in r.json()["detail"]
    period.refresh_from_db()
    assert period.is_open is False


@pytest.mark.django_db
def test_the_schema_and_the_docs_need_a_sign_in(client):
    assert client.get("/api/schema/").status_code in (401, 403)
    r = client.get("/api/docs/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")


@pytest.mark.django_db
def test_report_actions_record_the_source_address(api_as, reporter, unit_a):
    import datetime as dt

    from tests.factories import PeriodFactory, TaskFactory

    task = TaskFactory(lead=[unit_a])
    period = PeriodFactory(year=2024, quarter=3, due_date=dt.date(2099, 9, 20), is_open=True)
    api = api_as(reporter)
    r = api.post(
        "/api/reports/",
        {"task": task.pk, "period": period.pk, "text": "进展"},
        format="json",
        REMOTE_ADDR="192.0.2.44",
    )
    assert r.status_code == 201, r.json()
    r = api.post(f"/api/reports/{r.json()['id']}/submit/", {}, format="json", REMOTE_ADDR="192.0.2.44")
    assert r.status_code == 200, r.json()
    actions = dict(AuditEntry.objects.filter(action__startswith="report_").values_list("action", "ip"))
    assert actions == {
        "report_create": "192.0.2.44",
        "report_save_draft": "192.0.2.44",
        "report_submit": "192.0.2.44",
    }


@pytest.mark.django_db
def test_the_administrator_cannot_point_a_unit_webhook_at_an_internal_address(
    client_as, admin_user, unit_a, settings
):
    settings.WEBHOOK_ALLOWED_HOSTS = ["qyapi.weixin.qq.com", "oapi.dingtalk.com"]
    admin = client_as(admin_user)
    page = admin.get(f"/admin/departments/unit/{unit_a.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "webhook_url"}
    data.update({"aliases-TOTAL_FORMS": "0", "aliases-INITIAL_FORMS": "0", "kind": unit_a.kind})
    for url in (
        "http://127.0.0.1:6379/",
        "https://10.0.0.5/robot",
        "https://oapi.dingtalk.com.evil.example/x",
    ):
        r = admin.post(f"/admin/departments/unit/{unit_a.pk}/change/", {**data, "webhook_url": url})
        assert r.status_code == 200 and "不在允许列表" in r.content.decode(), url
    unit_a.refresh_from_db()
    assert unit_a.webhook_url == ""
    r = admin.post(
        f"/admin/departments/unit/{unit_a.pk}/change/",
        {**data, "webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abc"},
    )
    assert r.status_code == 302
