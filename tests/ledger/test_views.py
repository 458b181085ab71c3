"""The secretariat's ledger pages in the browser (Django test client)."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from departments.models import AuditEntry
from tasks.models import Milestone, Progress, Target, Task, TaskUnit

pytestmark = pytest.mark.django_db

# All page tests run on 2024-06-01 (Asia/Shanghai), the day the `ledger` fixture is built around.
travel = time_machine.travel(
    dt.datetime(2024, 6, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), tick=False
)


@pytest.fixture(autouse=True)
def fixed_day():
    with travel:
        yield


def _rows(response):
    return [row["task"].pk for row in response.context["rows"]]


# ---- the ledger list -------------------------------------------------------------------------------------


def test_ledger_lists_every_task_with_units_deadline_status_and_light_reason(client_as, secretariat, ledger):
    r = client_as(secretariat).get(reverse("tasks:list"))
    assert r.status_code == 200
    html = r.content.decode()
    assert _rows(r) == [
        ledger["overdue"].pk,
        ledger["soon"].pk,
        ledger["done"].pk,
    ]  # document, then plan order
    assert "平办〔2020〕7号" in html and "二.(一).9" in html
    assert f'href="/tasks/{ledger["overdue"].pk}/"' in html
    assert "市医保局" in html  # lead unit, compact name
    assert "2024-03-31" in html and "已过期 62 天" in html  # next deadline and the light's reason
    assert "超期" in html and "临期" in html and "已完成" in html


def test_ledger_orders_ten_after_nine_within_a_document(client_as, secretariat, ledger):
    r = client_as(secretariat).get(reverse("tasks:list"), {"document": ledger["doc"].pk})
    assert _rows(r) == [ledger["overdue"].pk, ledger["soon"].pk]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"lead_unit": "市医疗保障局"}, ["overdue"]),
        ({"lead_unit": "市医保局"}, ["overdue"]),  # an alias finds the unit
        ({"unit": "市医保局"}, ["overdue", "soon"]),  # lead or responsible
        ({"county": "叶县政府"}, ["overdue"]),
        ({"status": "completed"}, ["done"]),
        ({"status": "已完成"}, ["done"]),
        ({"light": "due_soon"}, ["soon"]),
        ({"overdue": "true"}, ["overdue"]),
        ({"search": "县域"}, ["soon"]),
        ({"document": "石政办函〔2020〕32号"}, ["done"]),
        ({"unit": "市医保局", "light": "overdue"}, ["overdue"]),
    ],
)
def test_ledger_filters(client_as, secretariat, ledger, params, expected):
    r = client_as(secretariat).get(reverse("tasks:list"), params)
    assert r.status_code == 200
    assert set(_rows(r)) == {ledger[k].pk for k in expected}


def test_invalid_filter_value_shows_a_chinese_message_not_an_error_page(client_as, secretariat, ledger):
    r = client_as(secretariat).get(reverse("tasks:list"), {"lead_unit": "市不存在局"})
    assert r.status_code == 200
    assert "筛选条件“牵头单位”的值“市不存在局”不是已知单位" in r.content.decode()
    r = client_as(secretariat).get(reverse("tasks:list"), {"overdue": "maybe"})
    assert r.status_code == 200 and "超期" in r.context["error"] and _rows(r) == []


def test_clicking_a_header_sorts_and_keeps_the_filters(client_as, secretariat, ledger):
    c = client_as(secretariat)
    r = c.get(reverse("tasks:list"), {"unit": "市医保局"})
    deadline_header = next(h for h in r.context["headers"] if h.get("key") == "deadline")
    assert "unit=" in deadline_header["url"] and "sort=deadline" in deadline_header["url"]
    r = c.get(reverse("tasks:list") + deadline_header["url"])
    assert _rows(r) == [ledger["overdue"].pk, ledger["soon"].pk]
    again = next(h for h in r.context["headers"] if h.get("key") == "deadline")
    assert "sort=-deadline" in again["url"]  # a second click reverses
    r = c.get(reverse("tasks:list") + again["url"])
    assert _rows(r) == [ledger["soon"].pk, ledger["overdue"].pk]


def test_pagination_links_keep_filters_and_sort(client_as, secretariat, ledger, unit_a):
    from tests.factories import TaskFactory

    for i in range(60):
        TaskFactory(document=ledger["doc"], path=["五", str(i + 1)], lead=[unit_a])
    c = client_as(secretariat)
    r = c.get(reverse("tasks:list"), {"lead_unit": "市医保局", "sort": "-path"})
    assert r.context["page"].paginator.count == 61 and len(_rows(r)) == 50
    html = r.content.decode()
    assert "page=2" in html
    page_query = r.context["page_query"]
    assert "lead_unit=" in page_query and "sort=-path" in page_query
    r2 = c.get(reverse("tasks:list") + page_query + "page=2")
    assert len(_rows(r2)) == 11
    assert not set(_rows(r)) & set(_rows(r2))


@pytest.mark.parametrize("extra, count, pages", [(49, 50, 1), (50, 51, 2)])
def test_a_full_first_page_and_one_task_more_are_counted_right(
    client_as, secretariat, ledger, unit_a, extra, count, pages
):
    """The first page is read with one row more than fits; the count comes from SQL only when that row exists."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import TaskFactory

    for i in range(extra):
        TaskFactory(document=ledger["doc"], path=["五", str(i + 1)], lead=[unit_a])
    c = client_as(secretariat)
    with CaptureQueriesContext(connection) as queries:
        r = c.get(reverse("tasks:list"), {"lead_unit": "市医保局"})
    assert r.context["page"].paginator.count == count and len(_rows(r)) == 50
    assert r.context["page"].paginator.num_pages == pages and ("page=2" in r.content.decode()) == (pages == 2)
    count_sql = 'SELECT COUNT(*) AS "__count" FROM "tasks_task"'
    assert len([q for q in queries.captured_queries if q["sql"].startswith(count_sql)]) == pages - 1
    if pages == 2:
        assert len(_rows(c.get(reverse("tasks:list"), {"lead_unit": "市医保局", "page": "2"}))) == 1


def test_reporter_sees_only_tasks_of_its_unit(client_as, reporter, ledger):
    r = client_as(reporter).get(reverse("tasks:list"))
    assert set(_rows(r)) == {ledger["overdue"].pk, ledger["soon"].pk}
    assert "新建任务" not in r.content.decode()


def test_anonymous_visitor_is_sent_to_login(client, ledger):
    for url in (
        reverse("tasks:list"),
        reverse("tasks:detail", args=[ledger["soon"].pk]),
        reverse("tasks:create"),
    ):
        r = client.get(url)
        assert r.status_code == 302 and "/login/" in r["Location"]


# ---- detail ----------------------------------------------------------------------------------------------


def test_detail_shows_text_units_milestones_targets_and_light(client_as, secretariat, ledger):
    task = ledger["soon"]
    r = client_as(secretariat).get(reverse("tasks:detail", args=[task.pk]))
    html = r.content.decode()
    assert r.status_code == 200
    assert "县域内就诊率提高" in html and "市卫生健康委" in html and "市医疗保障局" in html
    assert "县域就诊率≥90%" in html and "2024-06-20" in html
    assert "临期" in html and "还有 19 天到期" in html


def test_task_text_is_shown_escaped(client_as, secretariat, ledger):
    Task.objects.filter(pk=ledger["soon"].pk).update(text="<script>alert(1)</script>")
    html = client_as(secretariat).get(reverse("tasks:detail", args=[ledger["soon"].pk])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_reporter_gets_404_for_a_task_its_unit_does_not_carry(client_as, outsider, ledger):
    assert client_as(outsider).get(reverse("tasks:detail", args=[ledger["soon"].pk])).status_code == 404


# ---- create / edit ---------------------------------------------------------------------------------------


def _post_data(**overrides):
    data = {
        "path": "三.(二).4",
        "title": "建立家庭医生签约服务制度",
        "text": "全面推开家庭医生签约服务。",
        "note": "",
        "status": "in_progress",
        "lead_units": "市卫健委",
        "responsible_units": "市医保局、市财政局",
        "counties": "",
        "m_date": ["2024-12-31", "", ""],
        "m_text": ["2024年底前", "", ""],
        "t_indicator": ["签约覆盖率", ""],
        "t_op": [">=", ">="],
        "t_value": ["60", ""],
        "t_value_high": ["", ""],
        "t_unit": ["%", ""],
        "t_due": ["2024-12-31", ""],
        "t_baseline": ["45", ""],
    }
    data.update(overrides)
    return data


def test_secretariat_creates_a_task_with_units_by_alias_milestones_and_targets(
    client_as, secretariat, ledger
):
    data = _post_data(document=ledger["doc"].pk, all_counties="on")
    r = client_as(secretariat).post(reverse("tasks:create"), data)
    assert r.status_code == 302
    task = Task.objects.get(title="建立家庭医生签约服务制度")
    assert r["Location"] == reverse("tasks:detail", args=[task.pk])
    assert task.path == ["三", "(二)", "4"] and task.status == Progress.IN_PROGRESS
    assert [u.name for u in task.lead_units] == ["市卫生健康委"]
    assert [u.name for u in task.responsible_units] == ["市医疗保障局", "市财政局"]
    assert {u.name for u in task.counties} == {"叶县政府", "郏县政府"}
    assert [(m.date, m.text) for m in task.milestones.all()] == [(dt.date(2024, 12, 31), "2024年底前")]
    (target,) = task.targets.all()
    assert (target.indicator, target.op, target.value, target.unit, target.due, target.baseline) == (
        "签约覆盖率",
        ">=",
        60,
        "%",
        dt.date(2024, 12, 31),
        45,
    )
    assert AuditEntry.objects.filter(action="task_create", object_id=str(task.pk), actor=secretariat).exists()


def test_create_page_offers_aliases_in_the_unit_datalist(client_as, secretariat, ledger):
    client = client_as(secretariat)
    html = client.get(reverse("tasks:create")).content.decode()
    src = re.search(r'<datalist id="unit-options" data-src="([^"]+)"', html).group(1)
    options = client.get(src.replace("&amp;", "&")).json()["options"]
    assert ["市卫健委", "市卫生健康委"] in options
    assert ["市卫生健康委员会", "市卫生健康委"] in options
    assert ["市卫生健康委", "市卫生健康委"] in options
    assert not any("县" in canonical for _, canonical in options)  # counties have their own list


def test_the_county_list_offers_only_counties(client_as, secretariat, ledger):
    from departments.models import Unit, UnitKind

    options = (
        client_as(secretariat).get(reverse("departments:unit-options") + "?kinds=county").json()["options"]
    )
    counties = set(Unit.objects.filter(kind=UnitKind.COUNTY).values_list("name", flat=True))
    assert counties and {canonical for _, canonical in options} == counties


def test_unit_options_are_revalidated_by_etag_and_change_when_a_unit_is_added(client_as, secretariat, ledger):
    from tests.factories import UnitFactory

    client = client_as(secretariat)
    url = reverse("departments:unit-options") + "?kinds=department"
    first = client.get(url)
    assert first["Cache-Control"] == "private, no-cache"
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304
    UnitFactory(name="市新设局")
    changed = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200 and ["市新设局", "市新设局"] in changed.json()["options"]


def test_unit_options_name_a_wrong_kind_and_need_a_login(client, client_as, secretariat, ledger):
    bad = client_as(secretariat).get(reverse("departments:unit-options") + "?kinds=department,bureau")
    assert bad.status_code == 400
    assert bad.json()["field"] == "kinds" and "“bureau”不是单位类别" in bad.json()["detail"]
    assert client.get(reverse("departments:unit-options")).status_code == 302  # to the login page


@pytest.mark.parametrize(
    "overrides, field_words",
    [
        ({"title": ""}, "任务名称"),
        (
            {"lead_units": "市卫健委、市卫生健康局"},
            "牵头单位中的“市卫生健康局”不是已知单位，您是否要找：市卫生健康委",
        ),
        ({"m_date": ["2024年13月", "", ""]}, "第 1 个时间节点的日期“2024年13月”不是有效日期"),
        ({"t_value": ["六十", ""]}, "第 1 个指标的目标值“六十”不是数字"),
        ({"t_op": ["≈≈", ">="]}, "第 1 个指标的比较方式“≈≈”无效"),
        ({"t_due": ["明年", ""]}, "第 1 个指标的到期日“明年”不是有效日期"),
        ({"path": "二.(一).9"}, "已有编号为 二.(一).9 的任务"),
        ({"counties": "市财政局"}, "不是县(市、区)政府"),
    ],
)
def test_bad_input_names_the_field_keeps_the_input_and_saves_nothing(
    client_as, secretariat, ledger, overrides, field_words
):
    before = (
        Task.objects.count(),
        Milestone.objects.count(),
        Target.objects.count(),
        TaskUnit.objects.count(),
    )
    r = client_as(secretariat).post(
        reverse("tasks:create"), _post_data(document=ledger["doc"].pk, **overrides)
    )
    assert r.status_code == 200 and r.context["error"]
    html = r.content.decode()
    assert field_words in html
    assert "全面推开家庭医生签约服务。" in html  # what the user typed is still there
    after = (
        Task.objects.count(),
        Milestone.objects.count(),
        Target.objects.count(),
        TaskUnit.objects.count(),
    )
    assert after == before


def test_edit_form_is_prefilled_and_carries_the_version(client_as, secretariat, ledger):
    task = ledger["soon"]
    html = client_as(secretariat).get(reverse("tasks:edit", args=[task.pk])).content.decode()
    assert f'name="version" value="{task.version}"' in html
    assert 'value="县域就诊率"' in html and 'value="90"' in html and 'value="2024-06-20"' in html
    assert 'value="市卫生健康委"' in html


def _edit_data(task, **overrides):
    from tasks.forms import TaskForm, milestone_rows_for, target_rows_for

    initial = TaskForm.initial_for(task)
    data = {k: ("on" if v is True else "" if v is False else v) for k, v in initial.items() if v is not False}
    for key in ("m_date", "m_text"):
        data[key] = [r[key] for r in milestone_rows_for(task)]
    for key in ("t_indicator", "t_op", "t_value", "t_value_high", "t_unit", "t_due", "t_baseline"):
        data[key] = [r[key] for r in target_rows_for(task)]
    data.update(overrides)
    return data


def test_editing_the_status_bumps_the_version_and_shows_in_history(client_as, secretariat, ledger):
    task = Task.objects.get(pk=ledger["overdue"].pk)
    c = client_as(secretariat)
    r = c.post(reverse("tasks:edit", args=[task.pk]), _edit_data(task, status="lagging"))
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.status == Progress.LAGGING and task.version == 2
    # The milestone's plan context survives a form edit that only carries date and text.
    assert task.milestones.get().context == "完成试点"
    html = c.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "进展状态" in html and "未启动" in html and "滞后" in html and secretariat.username in html


def test_a_stale_save_is_refused_shows_what_changed_and_keeps_the_input(client_as, secretariat, ledger):
    from tasks.services import TaskData, task_update

    task = Task.objects.get(pk=ledger["overdue"].pk)
    stale = _edit_data(task, title="我的新名称")
    task_update(
        task=task, data=TaskData(status="lagging"), version=1, actor=secretariat
    )  # someone else saves first
    r = client_as(secretariat).post(reverse("tasks:edit", args=[task.pk]), stale)
    assert r.status_code == 200 and r.context["conflict"]["current_version"] == 2
    html = r.content.decode()
    assert "保存被拒绝" in html and "进展状态" in html and "滞后" in html
    assert "2024-06-01 10:00:00" in html  # when the other save happened, local time
    assert 'value="我的新名称"' in html
    task.refresh_from_db()
    assert task.title == "推进医保支付方式改革" and task.version == 2
    # Saving over it is a deliberate second step with the current version.
    r = client_as(secretariat).post(reverse("tasks:edit", args=[task.pk]), {**stale, "version_override": "2"})
    assert r.status_code == 302
    task.refresh_from_db()
    assert task.title == "我的新名称" and task.version == 3


@pytest.mark.parametrize("who", ["reporter", "leader", "outsider"])
def test_only_the_secretariat_may_create_edit_or_delete(client_as, ledger, who, request):
    user = request.getfixturevalue(who)
    c = client_as(user)
    task = ledger["overdue"]
    refused = c.get(reverse("tasks:create"))
    assert refused.status_code == 403 and "只有医改办工作人员可以修改台账" in refused.content.decode()
    assert c.post(reverse("tasks:create"), _post_data(document=ledger["doc"].pk)).status_code == 403
    assert c.get(reverse("tasks:edit", args=[task.pk])).status_code == 403
    assert c.post(reverse("tasks:delete", args=[task.pk])).status_code == 403
    assert Task.objects.alive().filter(pk=task.pk).exists()
    assert Task.objects.count() == 3


def test_soft_delete_hides_the_task_and_restore_brings_it_back(client_as, secretariat, reporter, ledger):
    c = client_as(secretariat)
    task = ledger["overdue"]
    r = c.post(reverse("tasks:delete", args=[task.pk]))
    assert r.status_code == 302
    assert task.pk not in _rows(c.get(reverse("tasks:list")))
    assert client_as(reporter).get(reverse("tasks:detail", args=[task.pk])).status_code == 404
    deleted_page = c.get(reverse("tasks:deleted")).content.decode()
    assert task.title in deleted_page
    assert c.post(reverse("tasks:restore", args=[task.pk])).status_code == 302
    assert task.pk in _rows(c.get(reverse("tasks:list")))
    actions = list(AuditEntry.objects.filter(object_id=str(task.pk)).values_list("action", flat=True))
    assert "task_delete" in actions and "task_restore" in actions
    html = c.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert '<td class="nowrap">删除</td>' in html and '<td class="nowrap">恢复</td>' in html


def _queries(client, url, params=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx.captured_queries)


def test_ledger_page_and_api_use_the_same_number_of_queries_for_3_or_40_tasks(
    client_as, api_as, secretariat, ledger, unit_a, county
):
    from tests.factories import MilestoneFactory, TargetFactory, TaskFactory

    c, api = client_as(secretariat), api_as(secretariat)
    few = (_queries(c, reverse("tasks:list")), _queries(api, "/api/tasks/"))
    for i in range(37):
        t = TaskFactory(document=ledger["doc"], path=["六", str(i + 1)], lead=[unit_a], counties=[county])
        MilestoneFactory(task=t)
        TargetFactory(task=t)
    many = (_queries(c, reverse("tasks:list")), _queries(api, "/api/tasks/"))
    assert many == few


def test_task_form_reads_deadline_phrases_against_the_plan_year(client_as, secretariat, ledger):
    """The form's date may be a phrase; the plan 平办〔2020〕7号 gives the year to 年底前 and 三季度末."""
    data = _post_data(
        document=ledger["doc"].pk, m_date=["年底前", "", "三季度末"], m_text=["", "2021年6月底前完成试点", ""]
    )
    r = client_as(secretariat).post(reverse("tasks:create"), data)
    assert r.status_code == 302
    task = Task.objects.get(title="建立家庭医生签约服务制度")
    assert sorted((m.date, m.text) for m in task.milestones.all()) == [
        (dt.date(2020, 9, 30), "三季度末"),
        (dt.date(2020, 12, 31), "年底前"),
        (dt.date(2021, 6, 30), "2021年6月底前完成试点"),
    ]
