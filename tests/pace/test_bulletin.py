"""The quarterly 通报: figures equal to the roll-ups', the Word file, numbering, storing, inbox, command, pages,
roles, and the bad cases."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from docx import Document as Docx

from departments.models import Role
from departments.services import ApplicationError, ConflictError
from reports.bulletin import bulletin_figures, bulletin_issue, bulletin_save_draft
from reports.dashboard import dashboard_overdue
from reports.models import Bulletin, Notification
from reports.rollups import rollup_by_county, rollup_by_department
from tasks.pace import Pace
from tests.factories import PeriodFactory, UserFactory
from tests.rollups.conftest import TODAY

ISSUE_AT = dt.datetime(2024, 9, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def now(time_machine):
    time_machine.move_to(ISSUE_AT, tick=False)
    return ISSUE_AT


@pytest.fixture
def sec(db, secretariat_unit):
    return UserFactory(username="sec_b", role=Role.SECRETARIAT, unit=secretariat_unit)


@pytest.fixture
def lead(db):
    return UserFactory(username="leader_b", role=Role.LEADER)


def stored(b: Bulletin) -> bytes:
    with b.file.open("rb") as f:
        return f.read()


def docx_text(content: bytes) -> str:
    doc = Docx(io.BytesIO(content))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(c.text for c in row.cells))
    return "\n".join(parts)


def test_figures_equal_the_rollups_and_the_dashboard_for_the_same_period(ledger, lead, now):
    f = bulletin_figures(period=ledger.q3, today=TODAY)
    rows = rollup_by_department(period=ledger.q3, today=TODAY, user=lead).rows
    rows += rollup_by_county(period=ledger.q3, today=TODAY, user=lead).rows
    for name in ("due", "on_time", "late", "missing"):
        assert f["reports"][name] == sum(getattr(r, f"reports_{name}") for r in rows), name
    by_unit = {r.unit_id: r for r in rows}
    for item in f["ranking"]:
        r = by_unit[item["unit_id"]]
        assert (item["reports_on_time"], item["overdue"], item["behind"]) == (
            r.reports_on_time,
            r.overdue,
            r.pace_behind,
        )
    d = dashboard_overdue(today=TODAY, user=lead, period=ledger.q3)
    assert {p: f["tasks"][p] for p in Pace.ALL} == d.pace_counts
    assert f["tasks"]["overdue"] == d.overdue_count
    assert f["tasks"]["total"] == 5  # T6 is deleted


def test_hand_checked_figures_of_the_small_ledger(ledger, now):
    f = bulletin_figures(period=ledger.q3, today=TODAY)
    # A 4 due: 1 on time, 1 late, 2 missing; B 3: 1 on time (T3), 2 missing (T1 returned, T2 none);
    # C 2: 1 on time, 1 late; 叶县 2: 1 on time, 1 missing; 鲁山县 1: 1 late
    assert f["reports"] == {"due": 12, "on_time": 4, "late": 3, "missing": 5}
    assert f["not_reported"] == []
    assert {p["unit"] for p in f["partly_reported"]} == {"市医疗保障局", "市财政局", "叶县政府"}
    assert [x["path"] for x in f["lagging"] if x["kind"] == "overdue"] == ["一.(一).1"]
    assert f["lagging"][0]["lead_units"] == ["市医疗保障局"]


def test_issuing_numbers_stores_and_sends_the_bulletin(ledger, sec, lead, reporter, now):
    bulletin_save_draft(period=ledger.q3, title="关于2024年第三季度医改任务推进情况的通报", issuer="测试市医改办",
                        requirements="一是抓紧补报。\n二是加快滞后任务。", actor=sec)  # fmt: skip
    b = bulletin_issue(period=ledger.q3, actor=sec)
    assert (b.status, b.year, b.number, b.number_label) == ("issued", 2024, 1, "2024年第1期")
    text = docx_text(stored(b))
    assert "第1期" in text and "测试市医改办" in text and "2024年9月10日" in text
    assert "应报送任务进展报告12份，按时报送4份" in text
    assert "一是抓紧补报。" in text and "二是加快滞后任务。" in text
    assert "已完成1项，占20.0%" in text
    assert "市医疗保障局" in text and "一.(一).1" in text
    assert b.figures["reports"]["due"] == 12
    assert Notification.objects.filter(user=lead, kind="bulletin").count() == 1
    assert Notification.objects.filter(user=reporter, kind="bulletin").count() == 1
    assert not Notification.objects.filter(user=sec, kind="bulletin").exists()
    # the next period's 通报 is 第2期
    q4 = PeriodFactory(year=2024, quarter=4, is_open=False)
    from tests.factories import ReportFactory

    ReportFactory(task=ledger.t1, unit=ledger.a, period=q4, status="submitted", submitted_at=now)
    assert bulletin_issue(period=q4, actor=sec).number == 2


def test_issuing_twice_and_editing_an_issued_bulletin_are_refused(ledger, sec, now):
    first = bulletin_issue(period=ledger.q3, actor=sec)
    before = stored(first)
    with pytest.raises(ConflictError, match="不能重复印发"):
        bulletin_issue(period=ledger.q3, actor=sec)
    with pytest.raises(ConflictError, match="不能再修改"):
        bulletin_save_draft(period=ledger.q3, title="改", issuer="改", requirements="", actor=sec)
    first.refresh_from_db()
    assert stored(first) == before
    assert Bulletin.objects.count() == 1


def test_a_period_without_reports_gets_a_clear_message_and_nothing_is_written(ledger, sec, now):
    q1 = PeriodFactory(year=2024, quarter=1, is_open=False)
    with pytest.raises(ApplicationError, match="2024年第一季度还没有任何单位提交进展报告"):
        bulletin_issue(period=q1, actor=sec)
    assert not Bulletin.objects.exists()
    assert not Notification.objects.filter(kind="bulletin").exists()


def test_bad_draft_input_answers_in_chinese(ledger, sec, now):
    with pytest.raises(ApplicationError, match="通报标题不能为空"):
        bulletin_save_draft(period=ledger.q3, title="  ", issuer="x", requirements="", actor=sec)
    with pytest.raises(ApplicationError, match="印发日期“2024-13-01”无效"):
        bulletin_save_draft(
            period=ledger.q3, title="t", issuer="x", requirements="", issued_on="2024-13-01", actor=sec
        )
    assert not Bulletin.objects.exists()


def test_command_writes_a_draft_then_issues(ledger, tmp_path, now):
    out = tmp_path / "draft.docx"
    stdout = io.StringIO()
    call_command("bulletin", "--period", str(ledger.q3.pk), "--out", str(out), stdout=stdout)
    assert "草稿" in stdout.getvalue() and "欠进度" in stdout.getvalue()
    assert "第　期（草稿，印发时编号）" in docx_text(out.read_bytes())
    assert not Bulletin.objects.exists()
    issued = tmp_path / "issued.docx"
    call_command(
        "bulletin", "--period", str(ledger.q3.pk), "--out", str(issued), "--issue", stdout=io.StringIO()
    )
    b = Bulletin.objects.get()
    assert issued.read_bytes() == stored(b)
    with pytest.raises(CommandError, match="不能重复印发"):
        call_command("bulletin", "--period", str(ledger.q3.pk), "--out", str(tmp_path / "x.docx"), "--issue")
    with pytest.raises(CommandError, match="填报期“999”不存在"):
        call_command("bulletin", "--period", "999", "--out", str(tmp_path / "y.docx"))
    assert not (tmp_path / "y.docx").exists()


def test_pages_for_the_secretariat_preview_save_and_issue(ledger, sec, client_as, now):
    c = client_as(sec)
    url = reverse("reports:bulletin-draft", args=[ledger.q3.pk])
    r = c.get(url)
    assert r.status_code == 200
    html = r.content.decode()
    assert "应报送任务进展报告12份" in html and 'data-testid="pace-summary"' in html
    r = c.post(url, {"title": "", "issuer": "x", "requirements": ""})
    assert r.status_code == 400 and "通报标题不能为空" in r.content.decode()
    r = c.post(
        url, {"title": "季度通报", "issuer": "测试市医改办", "issued_on": "", "requirements": "抓落实"}
    )
    assert r.status_code == 302
    draft = c.get(reverse("reports:bulletin-draft-docx", args=[ledger.q3.pk]))
    assert draft["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "抓落实" in docx_text(draft.content)
    issue = reverse("reports:bulletin-issue", args=[ledger.q3.pk])
    assert "2024年第1期" in c.get(issue).content.decode()
    assert c.post(issue, {}).status_code == 400  # not confirmed
    assert not Bulletin.objects.filter(status="issued").exists()
    assert c.post(issue, {"confirm": "yes"}).status_code == 302
    r = c.post(issue, {"confirm": "yes"})
    assert r.status_code == 409 and "不能重复印发" in r.content.decode()
    listing = c.get(reverse("reports:bulletin-list")).content.decode()
    assert "2024年第1期" in listing


def test_roles_leaders_and_units_download_admin_and_auditor_see_none(
    ledger, sec, lead, reporter, admin_user, auditor, client_as, now
):
    b = bulletin_issue(period=ledger.q3, actor=sec)
    download = reverse("reports:bulletin-download", args=[b.pk])
    for user in (lead, reporter, sec):
        r = client_as(user).get(download)
        assert r.status_code == 200, user.role
        assert b"".join(r) == stored(b)
    for user in (admin_user, auditor):
        assert client_as(user).get(download).status_code == 404
        assert client_as(user).get(reverse("reports:bulletin-list")).status_code == 403
    for user in (lead, reporter):
        assert client_as(user).get(reverse("reports:bulletin-draft", args=[ledger.q3.pk])).status_code == 403
        assert (
            client_as(user)
            .post(reverse("reports:bulletin-issue", args=[ledger.q3.pk]), {"confirm": "yes"})
            .status_code
            == 403
        )


def test_approved_extensions_of_the_quarter_are_listed(ledger, sec, now):
    from django.utils import timezone

    from tasks.models import ExtensionRequest

    decided = timezone.make_aware(dt.datetime(2024, 8, 1, 9, 0))
    common = dict(task=ledger.t1, unit=ledger.a, milestone_date=dt.date(2024, 6, 30), decided_by=sec)
    ExtensionRequest.objects.create(**common, new_date=dt.date(2024, 12, 31), reason="试点扩面需要时间",
                                    status="approved", decided_at=decided)  # fmt: skip
    ExtensionRequest.objects.create(**common, new_date=dt.date(2025, 3, 31), reason="被驳回的", status="rejected",
                                    decided_at=decided)  # fmt: skip
    ExtensionRequest.objects.create(**common, new_date=dt.date(2025, 6, 30), reason="上季度批准的",
                                    status="approved", decided_at=decided - dt.timedelta(days=60))  # fmt: skip
    f = bulletin_figures(period=ledger.q3, today=TODAY)
    assert [(e["path"], e["new_date"], e["reason"]) for e in f["extensions"]] == [
        ("一.(一).1", "2024-12-31", "试点扩面需要时间")
    ]
    b = bulletin_issue(period=ledger.q3, actor=sec)
    text = docx_text(stored(b))
    assert "本期经批准的延期事项1项" in text
    assert "原定 2024-06-30，经批准延期至 2024-12-31。理由：试点扩面需要时间" in text
