"""The auditor's audit-log page: only the auditor reads it; search, pagination, and an audited, safe export."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from departments.models import AuditEntry
from departments.services import audit_log


@pytest.fixture
def entries(db, secretariat, reporter):
    audit_log(actor=secretariat, action="task_update", object_type="task", object_id="7", message="改标题")
    audit_log(
        actor=reporter,
        action="report_submit",
        object_type="report",
        object_id="3",
        message='=HYPERLINK("http://x")',
    )
    return AuditEntry.objects.all()


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("departments:audit-log"))
    assert response.status_code == 302 and reverse("departments:login") in response["Location"]


@pytest.mark.parametrize("who", ["secretariat", "reporter", "leader", "admin_user"])
def test_other_roles_cannot_read_the_audit_log(request, client_as, who):
    user = request.getfixturevalue(who)
    assert client_as(user).get(reverse("departments:audit-log")).status_code == 403
    assert client_as(user).get(reverse("departments:audit-export")).status_code == 403


def test_auditor_searches_by_actor_action_and_object(client_as, auditor, entries):
    c = client_as(auditor)
    page = c.get(reverse("departments:audit-log"), {"actor": "sec"}).content.decode()
    assert "改标题" in page and "HYPERLINK" not in page
    page = c.get(reverse("departments:audit-log"), {"action": "report_submit"}).content.decode()
    assert "HYPERLINK" in page and "改标题" not in page
    page = c.get(reverse("departments:audit-log"), {"obj": "task"}).content.decode()
    assert "改标题" in page and "HYPERLINK" not in page


def test_auditor_searches_by_address_and_date_range(client_as, auditor, entries, rf):
    request = rf.get("/", REMOTE_ADDR="10.1.2.3")
    audit_log(
        action="login_failed", object_type="login", object_id="x", request=request, message="来自10.1.2.3"
    )
    c = client_as(auditor)
    page = c.get(reverse("departments:audit-log"), {"ip": "10.1.2.3"}).content.decode()
    assert "来自10.1.2.3" in page and "改标题" not in page
    assert "共 0 条" in c.get(reverse("departments:audit-log"), {"date_to": "2000-01-01"}).content.decode()


def test_bad_search_input_is_explained_in_chinese(client_as, auditor, entries):
    c = client_as(auditor)
    page = c.get(
        reverse("departments:audit-log"), {"ip": "not-an-ip", "date_from": "2024-13-01"}
    ).content.decode()
    assert "来源地址不是有效的 IP 地址" in page and "起始日期格式应为" in page
    response = c.get(
        reverse("departments:audit-export"), {"date_from": "2024-05-02", "date_to": "2024-05-01"}
    )
    assert response.status_code == 400 and "截止日期不能早于起始日期" in response.content.decode()


def test_audit_log_is_paginated(client_as, auditor, db):
    for i in range(120):
        audit_log(action="task_update", object_type="task", object_id=str(i), message=f"m{i}")
    c = client_as(auditor)
    first = c.get(reverse("departments:audit-log")).content.decode()
    assert "第 1 / 3 页" in first
    assert "第 3 / 3 页" in c.get(reverse("departments:audit-log"), {"page": 3}).content.decode()


def test_export_is_an_xlsx_without_formulas_and_is_itself_audited(client_as, auditor, entries):
    response = client_as(auditor).get(reverse("departments:audit-export"), {"action": "report_submit"})
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "时间" and len(rows) == 2
    assert rows[1][8] == '=HYPERLINK("http://x")'  # exactly as recorded: no ' added, and a text cell
    assert ws.cell(row=2, column=9).data_type == "s"
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
    assert ws.cell(row=2, column=1).is_date  # the time is a real date-time (Asia/Shanghai)
    export = AuditEntry.objects.get(action="export", object_type="audit_log")
    assert export.actor == auditor and "1 行" in export.message
    assert export.changes == {"filters": [None, {"action": "report_submit"}], "rows": [None, 1]}
