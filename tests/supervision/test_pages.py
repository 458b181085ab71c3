"""督办 pages in the browser's terms (Django test client): who sees what, forms that say what is wrong, the
printable page and the Word download, and the partials on the task page, the dashboard and the landing page."""

import io

import pytest
from docx import Document

from reports.models import Notice
from reports.notices import notice_issue
from tasks.models import ExtensionRequest, Milestone
from tests.factories import PeriodFactory


@pytest.fixture
def notice(world, secretariat, unit_a):
    return notice_issue(
        unit=unit_a, tasks=[world["t1"].pk, world["t2"].pk], text="请加快推进。\n第二段。", reply_by="2026-03-12",
        actor=secretariat,
    )  # fmt: skip


def test_the_secretariat_issues_a_notice_from_the_browser(world, client_as, secretariat, unit_a):
    client = client_as(secretariat)
    page = client.get(f"/notices/new/?task={world['t1'].pk}").content.decode()
    assert (
        "市医疗保障局承担的未完成任务" in page
        and f'value="{world["t1"].pk}" id="t{world["t1"].pk}" checked' in page
    )
    response = client.post(
        "/notices/new/",
        {
            "unit": unit_a.pk,
            "tasks": [world["t1"].pk],
            "text": "请整改",
            "reply_by": "2026-03-12",
            "issue": "1",
        },
    )
    notice = Notice.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/notices/{notice.pk}/"
    assert "督办〔2026〕1号" in client.get(response["Location"]).content.decode()


def test_the_issue_form_says_what_is_wrong_and_keeps_the_input(world, client_as, secretariat, unit_a):
    response = client_as(secretariat).post(
        "/notices/new/", {"unit": unit_a.pk, "text": "我的督办事项", "reply_by": "2026-03-12", "issue": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 400 and "请至少选择一项督办的任务" in html and "我的督办事项" in html
    assert not Notice.objects.exists()


@pytest.mark.parametrize("who", ["reporter", "admin_user", "auditor"])
def test_only_issuers_reach_the_issue_form(world, client_as, request, who):
    assert client_as(request.getfixturevalue(who)).get("/notices/new/").status_code == 403


def test_the_unit_signs_and_replies_in_the_browser(notice, client_as, reporter):
    client = client_as(reporter)
    html = client.get(f"/notices/{notice.pk}/").content.decode()
    assert 'data-testid="notice-sign"' in html and 'data-testid="notice-decide"' not in html
    client.post(f"/notices/{notice.pk}/sign/")
    client.post(f"/notices/{notice.pk}/reply/", {"text": "整改措施一", "expected_date": "2026-04-30"})
    notice.refresh_from_db()
    assert notice.status == "replied" and notice.reply == "整改措施一"
    # a bad reply shows the message on the page, and changes nothing
    Notice.objects.filter(pk=notice.pk).update(status="signed")
    page = client.post(
        f"/notices/{notice.pk}/reply/", {"text": "", "expected_date": "2026-04-30"}, follow=True
    )
    assert "请填写整改措施" in page.content.decode()


def test_the_secretariat_sends_back_and_closes_in_the_browser(notice, client_as, reporter, secretariat):
    client_as(reporter).post(f"/notices/{notice.pk}/reply/", {"text": "措施", "expected_date": "2026-04-30"})
    client = client_as(secretariat)
    assert 'data-testid="notice-reopen-form"' in client.get(f"/notices/{notice.pk}/").content.decode()
    page = client.post(f"/notices/{notice.pk}/reopen/", {"reason": "不够具体"}, follow=True).content.decode()
    assert "已退回单位重新答复" in page and "不够具体" in page
    client.post(f"/notices/{notice.pk}/close/")
    notice.refresh_from_db()
    assert notice.status == "closed"


def test_other_units_and_other_roles_get_404_or_403(
    notice, client_as, outsider, admin_user, auditor, leader, reporter
):
    assert client_as(outsider).get(f"/notices/{notice.pk}/").status_code == 404
    assert client_as(outsider).get(f"/notices/{notice.pk}/word/").status_code == 404
    assert client_as(outsider).post(f"/notices/{notice.pk}/sign/").status_code == 404
    for user in (admin_user, auditor):
        assert client_as(user).get(f"/notices/{notice.pk}/").status_code == 404
        assert client_as(user).get("/notices/").status_code == 403
        assert client_as(user).get("/extensions/").status_code == 403
    assert client_as(leader).post(f"/notices/{notice.pk}/close/").status_code == 403
    assert client_as(reporter).post(f"/notices/{notice.pk}/close/").status_code == 403
    assert "督办〔2026〕1号" not in client_as(outsider).get("/notices/").content.decode()


def test_the_printable_page_and_the_word_download(notice, client_as, leader):
    client = client_as(leader)
    html = client.get(f"/notices/{notice.pk}/print/").content.decode()
    assert "督 办 单" in html and "市医疗保障局：" in html and "2026年3月12日前签收" in html
    response = client.get(f"/notices/{notice.pk}/word/")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    doc = Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "督办〔2026〕1号" in text and "市医疗保障局：" in text and "第二段。" in text
    cells = [c.text for row in doc.tables[0].rows for c in row.cells]
    assert "推进分级诊疗" in cells and "医保支付方式改革" in cells


def test_open_notices_show_on_the_task_page_the_dashboard_and_the_landing_page(
    notice, client_as, reporter, leader, world
):
    PeriodFactory(year=2026, quarter=1, is_open=True)
    assert "督办〔2026〕1号" in client_as(reporter).get(f"/tasks/{world['t1'].pk}/").content.decode()
    landing = client_as(reporter).get("/", follow=True).content.decode()
    assert 'data-testid="open-notices"' in landing and "督办〔2026〕1号" in landing
    dashboard = client_as(leader).get("/reports/dashboard/").content.decode()
    assert 'data-testid="open-notices"' in dashboard and "督办〔2026〕1号" in dashboard
    Notice.objects.filter(pk=notice.pk).update(status="closed")
    assert 'data-testid="open-notices"' not in client_as(leader).get("/reports/dashboard/").content.decode()


def test_the_open_notices_box_lists_the_most_urgent_ten_with_their_tasks_and_counts_them_all(
    world, client_as, secretariat, reporter, outsider, leader, unit_a, unit_b
):
    """The box on the dashboard and the landing page: the ten nearest reply dates, each notice's tasks in plan
    order, late ones marked, the total of all of them; a reporter sees its own unit's only."""
    PeriodFactory(year=2026, quarter=1, is_open=True)
    for day in range(3, 14):  # eleven to unit A, reply dates 2026-03-03 .. 03-13
        notice_issue(
            unit=unit_a, tasks=[world["t2"].pk, world["t1"].pk], text="请加快推进。", reply_by=f"2026-03-{day:02d}",
            actor=secretariat,
        )  # fmt: skip
    other = notice_issue(
        unit=unit_b, tasks=[world["t3"].pk], text="请报送。", reply_by="2026-03-03", actor=secretariat
    )
    Notice.objects.filter(pk=other.pk).update(reply_by="2026-02-01")  # its reply date has passed
    dashboard = client_as(leader).get("/reports/dashboard/").content.decode()
    box = dashboard[dashboard.index('data-testid="open-notices"') :]
    box = box[: box.index("</section>")]
    assert "未办结的督办单（12）" in box and "查看全部 12 份" in box
    assert box[box.index("<tbody>") :].count("<tr>") == 10 and other.number in box  # the earliest first
    assert "一.(一).1、一.(一).2" in box  # the tasks in plan order, whatever order they were given in
    assert box.count("逾期") == 1  # only B's: 2026-02-01 has passed, A's dates have not
    landing = client_as(outsider).get("/", follow=True).content.decode()  # a reporter of unit B
    assert other.number in landing and "督办〔2026〕1号" not in landing and "未办结的督办单（1）" in landing


def test_a_lead_reporter_asks_for_an_extension_from_the_task_page(world, client_as, reporter, outsider):
    task_page = client_as(reporter).get(f"/tasks/{world['t1'].pk}/").content.decode()
    assert 'data-testid="extension-new"' in task_page
    # unit B shares the task but does not lead it: no button, and the form refuses
    assert (
        'data-testid="extension-new"'
        not in client_as(outsider).get(f"/tasks/{world['t1'].pk}/").content.decode()
    )
    assert client_as(outsider).get(f"/extensions/new/?task={world['t1'].pk}").status_code == 403
    client = client_as(reporter)
    form = client.get(f"/extensions/new/?task={world['t1'].pk}").content.decode()
    assert "2026-02-20" in form and "逾期申请" in form
    bad = client.post(
        "/extensions/new/",
        {"task": world["t1"].pk, "milestone_date": "2026-06-30", "new_date": "2026-06-01", "reason": "x"},
    )
    assert bad.status_code == 400 and "必须晚于原时限" in bad.content.decode()
    ok = client.post(
        "/extensions/new/",
        {"task": world["t1"].pk, "milestone_date": "2026-06-30", "new_date": "2026-09-30", "reason": "x"},
    )
    assert ok.status_code == 302 and ExtensionRequest.objects.get().status == "pending"


def test_the_secretariat_decides_in_the_queue_and_the_task_page_says_so(
    world, client_as, reporter, secretariat
):
    client_as(reporter).post(
        "/extensions/new/",
        {"task": world["t1"].pk, "milestone_date": "2026-06-30", "new_date": "2026-09-30", "reason": "x"},
    )
    req = ExtensionRequest.objects.get()
    client = client_as(secretariat)
    queue = client.get("/extensions/?status=pending").content.decode()
    assert f'data-testid="extension-{req.pk}"' in queue and "批准" in queue
    client.post(f"/extensions/{req.pk}/approve/", {"reason": "同意"})
    again = client.post(f"/extensions/{req.pk}/reject/", {"reason": "晚了"}, follow=True).content.decode()
    assert "不能重复审批" in again
    task_page = client.get(f"/tasks/{world['t1'].pk}/").content.decode()
    assert "原定 2026-06-30，经批准延期至 2026-09-30" in task_page
    assert Milestone.objects.get(task=world["t1"], date="2026-09-30").original_date is not None
    assert client_as(reporter).post(f"/extensions/{req.pk}/approve/").status_code == 403
