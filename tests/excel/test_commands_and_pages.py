"""export_ledger / import_ledger as CONTRACT.md writes them, and the import/export pages."""

import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from departments.models import AuditEntry
from tasks.models import Task
from tests.factories import TaskFactory

from .conftest import office_workbook

DOC = "平办〔2020〕7号"


def test_export_ledger_writes_the_standard_layout(small_ledger, tmp_path):
    TaskFactory(document=small_ledger["doc"], path=["一", "1"], title="任务甲", lead=[small_ledger["health"]])
    out = tmp_path / "ledger.xlsx"
    stdout = io.StringIO()
    call_command("export_ledger", "--out", str(out), "--document", DOC, stdout=stdout)
    assert stdout.getvalue().strip() == f"exported 1 tasks to {out}"
    ws = openpyxl.load_workbook(out).active
    assert ws["A3"].value == "序号" and ws["A6"].value == "1." and ws["C6"].value == "任务甲"
    export = AuditEntry.objects.get(action="export", object_type="ledger")
    assert export.actor is None and export.actor_name == "系统" and export.changes["rows"] == [None, 1]
    assert export.changes["filters"][1]["document"] == DOC


def test_ledger_page_export_is_audited_with_its_filter_and_row_count(small_ledger, secretariat, client_as):
    TaskFactory(document=small_ledger["doc"], path=["一", "1"], title="任务甲", lead=[small_ledger["health"]])
    TaskFactory(
        document=small_ledger["doc"], path=["一", "2"], title="任务乙", lead=[small_ledger["insurance"]]
    )
    response = client_as(secretariat).get(reverse("reports:ledger-export"), {"lead_unit": "市卫健委"})
    assert response.status_code == 200
    export = AuditEntry.objects.get(action="export", object_type="ledger")
    assert export.actor == secretariat and export.changes == {
        "filters": [None, {"lead_unit": "市卫健委"}],
        "rows": [None, 1],
    }


def test_export_ledger_unknown_document_is_an_error(small_ledger, tmp_path):
    with pytest.raises(CommandError, match="找不到文号"):
        call_command("export_ledger", "--out", str(tmp_path / "x.xlsx"), "--document", "无此文号")


def test_import_ledger_prints_the_summary_and_writes(small_ledger, tmp_path):
    path = tmp_path / "in.xlsx"
    path.write_bytes(office_workbook([["1.", DOC, "任务甲", "", "市卫健委", "", "2022年底", "", ""]]))
    out = io.StringIO()
    call_command("import_ledger", str(path), stdout=out)
    assert "created: 1\nupdated: 0\nunchanged: 0\nconflicts: 0\nerrors: 0" in out.getvalue()
    assert Task.objects.count() == 1


def test_import_ledger_dry_run_writes_nothing(small_ledger, tmp_path):
    path = tmp_path / "in.xlsx"
    path.write_bytes(office_workbook([["1.", DOC, "任务甲", "", "市卫健委", "", "", "", ""]]))
    out = io.StringIO()
    call_command("import_ledger", str(path), "--dry-run", stdout=out)
    assert "created: 1" in out.getvalue() and "dry run: nothing written" in out.getvalue()
    assert not Task.objects.exists()


def test_import_ledger_with_errors_prints_each_and_exits_non_zero(small_ledger, tmp_path):
    path = tmp_path / "in.xlsx"
    path.write_bytes(
        office_workbook(
            [
                ["1.", DOC, "任务甲", "", "市卫健委", "", "", "", ""],
                ["2.", DOC, "任务乙", "", "市卫健委员", "", "2022年13月", "", ""],
            ]
        )
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_ledger", str(path), stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert lines == [
        "row 5, column E（牵头单位）: 牵头单位中的“市卫健委员”不是已知单位，您是否要找：市卫生健康委。",
        "row 5, column G（完成时限）: 完成时限“2022年13月”不是可识别的日期（可写作 2022-06-30、2022年12月、2022年底、2020.12 或 Excel 日期）。",
    ]
    assert not Task.objects.exists()


def test_import_ledger_bad_file_exits_non_zero(small_ledger, tmp_path):
    path = tmp_path / "in.xlsx"
    path.write_bytes(b"not a spreadsheet")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_ledger", str(path), stdout=io.StringIO(), stderr=err)
    assert "文件不是 Excel 表格" in err.getvalue()


def test_import_page_previews_then_secretariat_confirms(small_ledger, secretariat, client_as):
    client = client_as(secretariat)
    data = office_workbook([["1.", DOC, "任务甲", "", "市卫健委", "", "2022年底", "", ""]])
    upload = io.BytesIO(data)
    upload.name = "台账.xlsx"
    response = client.post(reverse("tasks:import"), {"file": upload})
    assert response.status_code == 200
    assert response.context["result"].created == 1
    assert not Task.objects.exists()
    token = response.context["token"]
    response = client.post(reverse("tasks:import-confirm"), {"token": token})
    assert response.status_code == 302
    task = Task.objects.get()
    assert AuditEntry.objects.filter(action="task_create", object_id=str(task.pk), actor=secretariat).exists()
    # The token is used up: confirming twice creates nothing more.
    client.post(reverse("tasks:import-confirm"), {"token": token})
    assert Task.objects.count() == 1


def test_import_page_shows_row_errors_and_offers_no_confirm(small_ledger, secretariat, client_as):
    upload = io.BytesIO(office_workbook([["1.", DOC, "", "", "市卫健委", "", "", "", ""]]))
    upload.name = "台账.xlsx"
    response = client_as(secretariat).post(reverse("tasks:import"), {"file": upload})
    body = response.content.decode()
    assert "第 4 行" in body and "重点任务（任务名称）不能为空。" in body
    assert 'data-testid="import-confirm"' not in body


def test_import_page_bad_file_says_what_is_wrong(small_ledger, secretariat, client_as):
    upload = io.BytesIO(b"hello")
    upload.name = "a.xlsx"
    response = client_as(secretariat).post(reverse("tasks:import"), {"file": upload})
    assert response.status_code == 400
    assert "文件不是 Excel 表格" in response.content.decode()


def test_confirm_with_someone_elses_token_does_nothing(small_ledger, secretariat, client_as):
    from tests.factories import UserFactory

    upload = io.BytesIO(office_workbook([["1.", DOC, "任务甲", "", "市卫健委", "", "", "", ""]]))
    upload.name = "a.xlsx"
    token = client_as(secretariat).post(reverse("tasks:import"), {"file": upload}).context["token"]
    other = UserFactory(username="sec2", role="secretariat")
    response = client_as(other).post(reverse("tasks:import-confirm"), {"token": token})
    assert response.status_code == 302 and not Task.objects.exists()


def test_only_the_secretariat_may_import(small_ledger, reporter, leader, client_as, client):
    assert client_as(reporter).get(reverse("tasks:import")).status_code == 403
    assert client_as(leader).post(reverse("tasks:import-confirm"), {"token": "x"}).status_code == 403
    assert client.get(reverse("tasks:import")).status_code == 302


def test_export_follows_the_ledger_filter_and_what_the_user_may_see(
    small_ledger, reporter, secretariat, client_as
):
    doc = small_ledger["doc"]
    TaskFactory(document=doc, path=["一", "1"], title="医保的任务", lead=[small_ledger["insurance"]])
    TaskFactory(document=doc, path=["一", "2"], title="卫健的任务", lead=[small_ledger["health"]])

    def titles(response):
        assert response.status_code == 200
        ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
        return [r[2] for r in ws.iter_rows(min_row=5, values_only=True) if r[12]]

    assert titles(client_as(secretariat).get(reverse("reports:ledger-export"))) == [
        "医保的任务",
        "卫健的任务",
    ]
    assert titles(
        client_as(secretariat).get(reverse("reports:ledger-export"), {"lead_unit": "市卫健委"})
    ) == ["卫健的任务"]
    assert titles(client_as(reporter).get(reverse("reports:ledger-export"))) == [
        "医保的任务"
    ]  # 市医疗保障局's reporter
    bad = client_as(secretariat).get(reverse("reports:ledger-export"), {"status": "差不多"})
    assert bad.status_code == 400 and "进展状态" in bad.content.decode()


def test_import_and_export_pages_render_for_the_secretariat(small_ledger, secretariat, client_as):
    client = client_as(secretariat)
    page = client.get(reverse("tasks:import"))
    assert page.status_code == 200 and "上限：文件 20 MB，50000 行，100 列" in page.content.decode()
    page = client.get(reverse("reports:ledger-export-page"), {"lead_unit": "市卫健委"})
    assert page.status_code == 200
    assert "?lead_unit=" in page.content.decode()  # the button exports exactly the current filter


def test_an_upload_beyond_the_hosts_parse_slots_is_told_to_wait_and_nothing_is_written(
    small_ledger, secretariat, client_as, settings, tmp_path
):
    """Large workbooks hold their rows in memory while planned: one host plans UPLOAD_PARSE_SLOTS at once and a
    further upload, after waiting, is refused with a message (reform_ledger.uploads.parse_slot)."""
    import fcntl

    settings.UPLOAD_PARSE_SLOTS, settings.UPLOAD_PARSE_WAIT_SECONDS, settings.UPLOAD_LOCK_DIR = (
        1,
        0.3,
        tmp_path,
    )
    data = office_workbook([["1.", DOC, "任务甲", "", "市卫健委", "", "2022年底", "", ""]])

    def post():
        upload = io.BytesIO(data)
        upload.name = "台账.xlsx"
        return client_as(secretariat).post(reverse("tasks:import"), {"file": upload})

    with open(tmp_path / "parse-0.lock", "a+b") as held:  # another worker planning a workbook
        fcntl.flock(held, fcntl.LOCK_EX)
        response = post()
        fcntl.flock(held, fcntl.LOCK_UN)
    assert response.status_code == 400
    assert "服务器正在处理其他表格导入（同时最多 1 个）" in response.content.decode()
    assert not Task.objects.exists()
    assert post().context["result"].created == 1  # the slot is free again


def test_a_long_ledger_preview_lists_the_first_rows_and_those_that_need_a_look(
    small_ledger, secretariat, client_as, settings, monkeypatch
):
    monkeypatch.setattr("tasks.excel_views.PREVIEW_ROWS", 5)
    rows = [["", DOC, f"任务{i}", "", "市卫健委", "", "2022年底", "", ""] for i in range(1, 21)]
    rows[16][6] = "尽快"  # a warning the preview must show, past the first five rows
    for i, row in enumerate(rows, start=1):
        row[0] = f"{i}."
    upload = io.BytesIO(office_workbook(rows))
    upload.name = "台账.xlsx"
    response = client_as(secretariat).post(reverse("tasks:import"), {"file": upload})
    assert response.status_code == 200
    shown = [p.state.title for p in response.context["preview_rows"]]
    assert shown[:5] == [f"任务{i}" for i in range(1, 6)]
    warned = [p.state.title for p in response.context["result"].plans if p.warnings]
    assert warned and set(warned) <= set(shown) and len(shown) == 5 + len(warned)
    hidden = response.context["hidden_rows"]
    assert f"另有 {20 - len(shown)} 行未逐行列出（新建 {20 - len(shown)} 行）" in hidden
    assert hidden in response.content.decode()
    assert response.context["result"].created == 20  # every row is still imported
