"""The reporting pages: the reporter's form, the secretariat's status and review pages, the lead unit's view."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from reports.models import Period, Report, ReportStatus
from reports.services import report_get_or_create_for, report_save_draft

pytestmark = pytest.mark.django_db


def row(task, **fields):
    return {f"t{task.pk}-{k}": v for k, v in fields.items()}


def test_after_login_reporter_lands_on_its_form_and_secretariat_on_the_status(
    client_as, reporter, secretariat, period
):
    assert client_as(reporter).get("/")["Location"] == "/reports/my/"
    assert client_as(secretariat).get("/")["Location"] == "/reports/status/"


def test_reporter_sees_a_row_for_each_task_of_its_unit_and_nothing_else(
    client_as, reporter, task, task_b, target, period
):
    html = client_as(reporter).get("/reports/my/").content.decode()
    assert task.title in html and task_b.title not in html
    assert f'name="t{task.pk}-target-{target.pk}"' in html and "县域就诊率" in html
    for label in ("进展", "完成百分比", "本期进展情况", "存在问题", "下步打算", "添加附件"):
        assert label in html


def test_county_reporter_sees_the_tasks_that_involve_its_county(
    client_as, county_reporter, task, task_b, period
):
    html = client_as(county_reporter).get("/reports/my/").content.decode()
    assert task.title in html and task_b.title not in html


@pytest.mark.parametrize("who", ["secretariat", "leader", "auditor"])
def test_the_form_is_only_for_reporters(client_as, who, request, period):
    assert client_as(request.getfixturevalue(who)).get("/reports/my/").status_code == 403


def test_anonymous_pages_redirect_to_login(client, period):
    for url in ("/reports/my/", "/reports/status/"):
        res = client.get(url)
        assert res.status_code == 302 and "/login/" in res["Location"]


def test_reporter_saves_a_draft_then_submits_one_task(client_as, reporter, task, target, period):
    c = client_as(reporter)
    res = c.post(
        "/reports/my/",
        {
            "period": period.pk,
            "action": "save",
            **row(
                task,
                progress="in_progress",
                percent="50",
                text="试点推进",
                problems="",
                next_steps="扩面",
                **{f"target-{target.pk}": "85"},
                version="",
            ),
        },
    )
    assert res.status_code == 302
    report = Report.objects.get()
    assert (report.status, report.percent, report.text, report.next_steps) == (
        ReportStatus.DRAFT,
        50,
        "试点推进",
        "扩面",
    )
    assert report.target_values.get().value == 85
    res = c.post(
        "/reports/my/",
        {
            "period": period.pk,
            "action": f"submit:{task.pk}",
            **row(
                task,
                progress="in_progress",
                percent="50",
                text="试点推进",
                next_steps="扩面",
                **{f"target-{target.pk}": "85"},
                version=str(report.version),
            ),
        },
    )
    assert res.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED
    html = c.get("/reports/my/").content.decode()
    assert "已提交" in html and f'name="t{task.pk}-text"' not in html  # read-only now


def test_submit_all_submits_every_editable_row(client_as, reporter, unit_a, period):
    from tests.factories import TaskFactory

    t1, t2 = TaskFactory(lead=[unit_a]), TaskFactory(lead=[unit_a])
    res = client_as(reporter).post(
        "/reports/my/",
        {
            "period": period.pk,
            "action": "submit_all",
            **row(t1, progress="completed", text="完成"),
            **row(t2, progress="in_progress", text="推进"),
        },
    )
    assert res.status_code == 302
    assert set(Report.objects.values_list("status", flat=True)) == {ReportStatus.SUBMITTED}
    assert Report.objects.count() == 2


def test_one_bad_row_saves_nothing_and_says_what_and_where(client_as, reporter, unit_a, period):
    from tests.factories import TaskFactory

    t1, t2 = TaskFactory(lead=[unit_a]), TaskFactory(lead=[unit_a])
    res = client_as(reporter).post(
        "/reports/my/",
        {
            "period": period.pk,
            "action": "save",
            **row(t1, progress="in_progress", text="正常"),
            **row(t2, progress="in_progress", percent="150", text="坏的"),
        },
    )
    assert res.status_code == 400
    html = res.content.decode()
    assert "完成百分比" in html and "0 到 100" in html and "坏的" in html  # typed text kept
    assert not Report.objects.exists()


def test_submit_all_with_an_empty_row_names_the_row_and_submits_nothing(client_as, reporter, unit_a, period):
    from tests.factories import TaskFactory

    t1, t2 = TaskFactory(lead=[unit_a]), TaskFactory(lead=[unit_a])
    res = client_as(reporter).post(
        "/reports/my/", {"period": period.pk, "action": "submit_all", **row(t1, text="有内容")}
    )
    assert res.status_code == 400
    assert f'data-testid="error-{t2.pk}"' in res.content.decode()
    assert not Report.objects.exists()


def test_a_stale_form_save_is_refused(client_as, reporter, draft, task, period):
    res = client_as(reporter).post(
        "/reports/my/",
        {
            "period": period.pk,
            "action": "save",
            **row(task, progress="in_progress", percent="60", text="旧页面的内容", version="1"),
        },
    )
    assert res.status_code == 400 and "已被修改" in res.content.decode()
    draft.refresh_from_db()
    assert draft.text == "已在三个县试点"


def test_returned_reason_is_shown_on_the_form(client_as, reporter, submitted, secretariat, task):
    from reports.services import report_return

    report_return(report=submitted, reason="请补充三个县的数据", actor=secretariat)
    html = client_as(reporter).get("/reports/my/").content.decode()
    assert "请补充三个县的数据" in html and f'name="t{task.pk}-text"' in html


def test_status_page_shows_who_submitted_late_and_missing(
    client_as, secretariat, leader, submitted, b_report, unit_a, unit_b
):
    for user in (secretariat, leader):
        html = client_as(user).get("/reports/status/").content.decode()
        assert unit_a.name in html and unit_b.name in html and "未提交" in html and "按时" in html
    assert "开启填报期" in client_as(secretariat).get("/reports/status/").content.decode()
    assert "开启填报期" not in client_as(leader).get("/reports/status/").content.decode()


def test_reporter_cannot_see_the_status_page(client_as, reporter, period):
    assert client_as(reporter).get("/reports/status/").status_code == 403


def test_secretariat_opens_a_period_and_changes_its_due_date_in_the_browser(client_as, secretariat, period):
    c = client_as(secretariat)
    res = c.post("/reports/periods/open/", {"year": 2024, "quarter": 4, "due_date": ""})
    assert res.status_code == 302
    new = Period.objects.get(year=2024, quarter=4)
    assert str(new.due_date) == "2024-12-20" and new.is_open
    c.post(f"/reports/periods/{new.pk}/due/", {"due_date": "2024-12-25"})
    new.refresh_from_db()
    assert str(new.due_date) == "2024-12-25"


@pytest.mark.parametrize("who", ["leader", "reporter"])
def test_only_the_secretariat_manages_periods(client_as, who, request, period):
    c = client_as(request.getfixturevalue(who))
    assert c.post("/reports/periods/open/", {"year": 2025, "quarter": 1}).status_code == 403
    assert c.post(f"/reports/periods/{period.pk}/due/", {"due_date": "2024-09-30"}).status_code == 403
    assert not Period.objects.filter(year=2025).exists()


def test_secretariat_returns_and_accepts_on_the_detail_page(client_as, secretariat, reporter, submitted):
    c = client_as(secretariat)
    html = c.get(f"/reports/{submitted.pk}/").content.decode()
    assert "审核通过" in html and "退回修改" in html and "已在三个县试点" in html
    res = c.post(f"/reports/{submitted.pk}/return/", {"reason": "", "version": submitted.version})
    submitted.refresh_from_db()
    assert submitted.status == ReportStatus.SUBMITTED
    c.post(f"/reports/{submitted.pk}/return/", {"reason": "补充数据", "version": submitted.version})
    submitted.refresh_from_db()
    assert submitted.status == ReportStatus.RETURNED
    assert "补充数据" in client_as(reporter).get(f"/reports/{submitted.pk}/").content.decode()
    assert res.status_code == 302


def test_leader_reads_the_detail_page_but_has_no_review_buttons_and_cannot_post(client_as, leader, submitted):
    c = client_as(leader)
    html = c.get(f"/reports/{submitted.pk}/").content.decode()
    assert "已在三个县试点" in html and 'data-testid="accept"' not in html
    assert c.post(f"/reports/{submitted.pk}/accept/").status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == ReportStatus.SUBMITTED


def test_reporter_cannot_review_its_own_report(client_as, reporter, submitted):
    assert client_as(reporter).post(f"/reports/{submitted.pk}/accept/").status_code == 403


@pytest.mark.parametrize("who", ["reporter", "county_reporter", "auditor", "admin_user"])
def test_another_units_report_page_answers_404(client_as, who, request, b_own_report):
    assert client_as(request.getfixturevalue(who)).get(f"/reports/{b_own_report.pk}/").status_code == 404


def test_lead_unit_sees_responsible_units_and_counties_side_by_side(
    client_as, reporter, b_submitted, task, period, county
):
    html = client_as(reporter).get(f"/reports/tasks/{task.pk}/?period={period.pk}").content.decode()
    assert "财政局配合" in html and county.name in html and "未填报" in html


def test_a_responsible_unit_cannot_open_the_side_by_side_view(
    client_as, outsider, county_reporter, task, period
):
    assert client_as(outsider).get(f"/reports/tasks/{task.pk}/").status_code == 404
    assert client_as(county_reporter).get(f"/reports/tasks/{task.pk}/").status_code == 404


def test_task_snippet_shows_reports_per_quarter_and_target_history(
    submitted, secretariat, outsider, target, task, reporter
):
    from reports.services import report_accept, report_return, report_submit

    returned = report_return(report=submitted, reason="补数据", actor=secretariat)
    fixed = report_save_draft(
        report=returned, data={"target_values": {target.pk: "91"}}, version=returned.version, actor=reporter
    )
    report_accept(report=report_submit(report=fixed, actor=reporter), actor=secretariat)
    request = RequestFactory().get("/")
    request.user = secretariat
    html = Template('{% include "tasks/snippets/task_reports.html" %}').render(
        Context({"task": task, "request": request})
    )
    assert "2024年第三季度" in html and "市医疗保障局" in html and "91%" in html and "达标" in html
    request.user = outsider  # responsible unit: does not see the lead unit's report
    html = Template('{% include "tasks/snippets/task_reports.html" %}').render(
        Context({"task": task, "request": request})
    )
    assert "已在三个县试点" not in html


def test_reporter_unit_draft_for_other_units_is_never_shown_on_the_form(client_as, reporter, b_report, task):
    html = client_as(reporter).get("/reports/my/").content.decode()
    assert "财政局配合" not in html


def test_form_report_get_or_create_reuses_existing_report(reporter, task, unit_a, period):
    a, _ = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
    b, created = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=reporter)
    assert a.pk == b.pk and not created
