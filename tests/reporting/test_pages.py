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


def test_one_bad_row_keeps_the_others_and_says_what_and_where(client_as, reporter, unit_a, period):
    from tests.factories import TaskFactory

    t1, t2 = TaskFactory(lead=[unit_a]), TaskFactory(lead=[unit_a], title="坏值所在的任务")
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
    errors = html[html.index('data-testid="form-errors"') :]
    errors = errors[: errors.index("</div>")]
    assert f'href="#task-{t2.pk}"' in errors and "坏值所在的任务" in errors and "完成百分比" in errors
    assert f'data-focus="t{t2.pk}-percent"' in html  # the faulty field gets the focus
    assert list(Report.objects.values_list("task_id", "text")) == [(t1.pk, "正常")]  # the good row is saved


def test_a_bad_target_among_thirty_tasks_saves_the_other_twenty_nine(client_as, reporter, unit_a, period):
    from tests.factories import TargetFactory, TaskFactory

    tasks = [TaskFactory(lead=[unit_a]) for _ in range(30)]
    target = TargetFactory(task=tasks[17], indicator="县域就诊率")
    data = {"period": period.pk, "action": "save"}
    for i, t in enumerate(tasks):
        data.update(row(t, progress="in_progress", text=f"第{i}项进展"))
    data[f"t{tasks[17].pk}-target-{target.pk}"] = "五十"
    res = client_as(reporter).post("/reports/my/", data)
    assert res.status_code == 400
    html = res.content.decode()
    assert "县域就诊率" in html and "五十" in html and "不是数字" in html
    assert f'data-focus="t{tasks[17].pk}-target-{target.pk}"' in html
    assert Report.objects.count() == 29
    assert not Report.objects.filter(task=tasks[17]).exists()
    assert "已保存 29 项草稿" in html


def test_submit_all_submits_the_complete_rows_and_lists_the_rest(client_as, reporter, unit_a, period):
    from tests.factories import TaskFactory

    t1, t2, t3 = (TaskFactory(lead=[unit_a]) for _ in range(3))
    c = client_as(reporter)
    res = c.post(
        "/reports/my/",
        {
            "period": period.pk,
            "action": "submit_all",
            "anchor": f"task-{t2.pk}",
            **row(t1, progress="in_progress", text="有内容"),
            **row(t2, progress="in_progress", text="", problems="只写了问题"),
        },
    )
    assert res.status_code == 302 and res["Location"].endswith(f"#task-{t2.pk}")
    assert Report.objects.get(task=t1).status == ReportStatus.SUBMITTED
    assert Report.objects.get(task=t2).status == ReportStatus.DRAFT  # kept as a draft
    assert not Report.objects.filter(task=t3).exists()
    html = c.get(res["Location"]).content.decode()
    leftover = html[html.index('data-testid="form-leftover"') :]
    leftover = leftover[: leftover.index("</div>")]
    assert f"#task-{t2.pk}" in leftover and f"#task-{t3.pk}" in leftover and f"#task-{t1.pk}" not in leftover
    assert "未填写本期进展情况，已存为草稿" in leftover
    assert 'data-testid="form-leftover"' not in c.get("/reports/my/").content.decode()  # shown once


def test_quick_answer_with_a_reason_becomes_the_progress_text(client_as, reporter, task, period):
    c = client_as(reporter)
    res = c.post(
        "/reports/my/",
        {
            "period": period.pk,
            "action": f"submit:{task.pk}",
            **row(task, progress="in_progress", quick="no_progress", quick_reason="本季度无安排"),
        },
    )
    assert res.status_code == 302 and res["Location"].endswith(f"#task-{task.pk}")
    report = Report.objects.get()
    assert report.text == "本期无新进展：本季度无安排" and report.status == ReportStatus.SUBMITTED


def test_quick_answer_without_a_reason_is_refused_on_that_row(client_as, reporter, task, period):
    res = client_as(reporter).post(
        "/reports/my/",
        {"period": period.pk, "action": "save", **row(task, progress="in_progress", quick="not_applicable")},
    )
    assert res.status_code == 400 and "请写一句简短原因" in res.content.decode()
    assert not Report.objects.exists()


def test_last_quarters_text_is_offered_for_reuse(client_as, reporter, unit_a, task, period):
    from tests.factories import PeriodFactory

    year, quarter = (period.year, period.quarter - 1) if period.quarter > 1 else (period.year - 1, 4)
    before = PeriodFactory(year=year, quarter=quarter, is_open=True)
    report, _ = report_get_or_create_for(task=task, unit=unit_a, period=before, actor=reporter)
    report_save_draft(report=report, data={"text": "上季度已完成调研"}, version=None, actor=reporter)
    html = client_as(reporter).get(f"/reports/my/?period={period.pk}").content.decode()
    assert f'data-testid="previous-{task.pk}"' in html and "上季度已完成调研" in html and before.label in html


def test_an_older_open_period_that_still_owes_reports_is_announced(client_as, reporter, task, period):
    from tests.factories import PeriodFactory

    older = PeriodFactory(year=period.year - 1, quarter=4, is_open=True)
    html = client_as(reporter).get("/reports/my/").content.decode()
    assert f'data-testid="owed-{older.pk}"' in html and "尚有 <strong>1</strong> 项未提交" in html


def test_the_index_lists_every_task_with_its_state_and_share(client_as, reporter, unit_b, submitted, period):
    from tests.factories import TaskFactory

    shared = TaskFactory(lead=[unit_b], responsible=[submitted.unit])
    html = client_as(reporter).get("/reports/my/").content.decode()
    index = html[html.index('data-testid="form-index"') : html.index("</aside>")]
    assert f'data-state="submitted" data-share="lead" data-task="{submitted.task_id}"' in index
    assert f'data-state="none" data-share="shared" data-task="{shared.pk}"' in index
    assert "未填" in index and "已提交" in index


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


def test_the_return_notice_lands_on_the_task_and_has_one_full_stop(
    client_as, reporter, submitted, secretariat, task, period
):
    from reports.models import Notification
    from reports.services import report_return

    report_return(report=submitted, reason="请补充三个县的数据。", actor=secretariat)
    note = Notification.objects.filter(user=reporter).latest("pk")
    assert "。。" not in note.message and "请补充三个县的数据。请修改后重新提交" in note.message
    assert note.link == f"/reports/my/?period={period.pk}#task-{task.pk}"
    res = client_as(reporter).post(f"/inbox/{note.pk}/read/", {"open": "1"})
    assert res.status_code == 302 and res["Location"] == note.link


def _submitted_reports(units, tasks, reporter_for, period):
    from reports.services import report_submit

    out = []
    for unit in units:
        for task in tasks:
            report, _ = report_get_or_create_for(
                task=task, unit=unit, period=period, actor=reporter_for[unit.pk]
            )
            report = report_save_draft(
                report=report, data={"text": "进展"}, version=None, actor=reporter_for[unit.pk]
            )
            out.append(report_submit(report=report, actor=reporter_for[unit.pk]))
    return out


@pytest.fixture
def queue_world(unit_a, unit_b, reporter, period):
    from departments.models import Role
    from tests.factories import TaskFactory, UserFactory

    reporter_b = UserFactory(role=Role.REPORTER, unit=unit_b)
    tasks = [TaskFactory(lead=[unit_a], responsible=[unit_b]) for _ in range(2)]
    return _submitted_reports([unit_a, unit_b], tasks, {unit_a.pk: reporter, unit_b.pk: reporter_b}, period)


def test_the_review_queue_lists_pending_reports_oldest_first_per_unit_and_per_task(
    client_as, secretariat, queue_world, period
):
    c = client_as(secretariat)
    html = c.get(f"/reports/review/?period={period.pk}").content.decode()
    positions = [html.index(f'data-testid="queue-row-{r.pk}"') for r in queue_world]
    assert positions == sorted(positions)  # submitted in this order, listed oldest first
    assert html.count('data-testid="queue-group"') == 2
    html = c.get(f"/reports/review/?period={period.pk}&group=task").content.decode()
    assert html.count('data-testid="queue-group"') == 2 and "待审核 <strong>4</strong> 份" in html


@pytest.mark.parametrize("who", ["leader", "reporter"])
def test_only_the_secretariat_opens_the_review_queue(client_as, who, request, period):
    assert client_as(request.getfixturevalue(who)).get("/reports/review/").status_code == 403


def test_batch_accept_accepts_the_selected_and_names_a_stale_one(client_as, secretariat, queue_world, period):
    first, second, third, _ = queue_world
    res = client_as(secretariat).post(
        "/reports/review/accept/",
        {
            "period": period.pk,
            "report": [
                f"{first.pk}:{first.version}",
                f"{second.pk}:{second.version}",
                f"{third.pk}:{third.version - 1}",
            ],
        },
        follow=True,
    )
    html = res.content.decode()
    assert "已审核通过 2 份报告" in html and "已被修改" in html
    statuses = dict(Report.objects.values_list("pk", "status"))
    assert statuses[first.pk] == statuses[second.pk] == ReportStatus.ACCEPTED
    assert statuses[third.pk] == ReportStatus.SUBMITTED


def test_accept_and_next_opens_the_next_pending_report(client_as, secretariat, queue_world, period):
    first, second, *_ = queue_world
    c = client_as(secretariat)
    html = c.get(f"/reports/{first.pk}/").content.decode()
    assert 'data-testid="accept-next"' in html and "data-confirm=" in html  # locking asks first
    res = c.post(f"/reports/{first.pk}/accept/", {"version": first.version, "next": "1"})
    assert res.status_code == 302 and res["Location"] == f"/reports/{second.pk}/"
    for r in queue_world[1:]:
        r.refresh_from_db()
        res = c.post(f"/reports/{r.pk}/accept/", {"version": r.version, "next": "1"})
    assert res["Location"] == f"/reports/review/?period={period.pk}"  # the queue is empty: back to it
    assert Report.objects.filter(status=ReportStatus.ACCEPTED).count() == 4


def test_status_page_shows_partial_submission_and_links_the_queue_and_the_compilation(
    client_as, secretariat, queue_world, unit_a, period
):
    from tests.factories import TaskFactory

    TaskFactory(lead=[unit_a])  # unit A now owes 3 and has submitted 2
    html = client_as(secretariat).get(f"/reports/status/?period={period.pk}").content.decode()
    cell = html[html.index(f'data-testid="timeliness-{unit_a.pk}"') :]
    cell = cell[: cell.index("</td>")]
    assert "部分提交 2/3" in cell and "未提交" not in cell
    assert (
        f"/reports/review/?period={period.pk}" in html
        and f"/reports/compilation.xlsx?period={period.pk}" in html
    )


def test_opening_a_period_asks_first_and_warns_about_the_open_one(client_as, secretariat, period):
    c = client_as(secretariat)
    html = c.get("/reports/status/").content.decode()
    assert f"{period.label}仍在开放" in html and 'data-testid="open-periods-warning"' in html
    res = c.post("/reports/periods/open/", {"year": 2024, "quarter": 4, "due_date": ""}, follow=True)
    assert f"同时开放的还有：{period.label}" in res.content.decode()


def test_form_messages_are_chinese_only(client_as, reporter, task, period):
    res = client_as(reporter).post(
        "/reports/my/",
        {"period": period.pk, "action": "save", **row(task, progress="in_progress", percent="abc")},
    )
    error = res.content.decode().split(f'data-testid="error-{task.pk}">')[1].split("</div>")[0]
    assert "完成百分比" in error and "percent" not in error


def test_text_typed_into_a_row_someone_else_submitted_meanwhile_is_kept_and_explained(
    client_as, reporter, unit_a, period
):
    from departments.models import Role
    from reports.services import report_get_or_create_for, report_save_draft, report_submit
    from tests.factories import TaskFactory, UserFactory

    task = TaskFactory(lead=[unit_a])
    colleague = UserFactory(username="rep_a2", role=Role.REPORTER, unit=unit_a, display_name="王联络员")
    page = client_as(reporter).get("/reports/my/")  # the reporter opens the empty form ...
    assert page.status_code == 200
    report, _ = report_get_or_create_for(task=task, unit=unit_a, period=period, actor=colleague)
    report = report_save_draft(report=report, data={"text": "同事写的进展"}, version=None, actor=colleague)
    report_submit(report=report, actor=colleague)  # ... a colleague submits the same task meanwhile
    res = client_as(reporter).post(
        "/reports/my/",
        {"period": period.pk, "action": "save", **row(task, progress="in_progress", text="我写的长篇进展")},
    )
    html = res.content.decode()
    assert res.status_code == 400 and "没有需要保存的修改" not in html
    assert "王联络员" in html and "没有保存" in html and "我写的长篇进展" in html
    assert f'data-testid="unsaved-{task.pk}"' in html
    report.refresh_from_db()
    assert report.text == "同事写的进展"


def test_a_returned_report_shows_others_what_was_submitted_not_the_units_new_draft(
    client_as, api_as, reporter, secretariat, submitted
):
    from reports.services import report_return, report_save_draft

    returned = report_return(report=submitted, reason="请补充数据", actor=secretariat)
    report_save_draft(report=returned, data={"text": "尚未提交的新草稿"}, version=None, actor=reporter)
    page = client_as(secretariat).get(f"/reports/{submitted.pk}/").content.decode()
    assert "已在三个县试点" in page and "尚未提交的新草稿" not in page and "shown-as-submitted" in page
    body = api_as(secretariat).get(f"/api/reports/{submitted.pk}/").json()
    assert body["text"] == "已在三个县试点" and body["status"] == "returned"
    # the unit itself works on its draft
    assert api_as(reporter).get(f"/api/reports/{submitted.pk}/").json()["text"] == "尚未提交的新草稿"
    assert "尚未提交的新草稿" in client_as(reporter).get(f"/reports/{submitted.pk}/").content.decode()
