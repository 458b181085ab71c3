"""The Django side of plan extraction: command, review screen, confirm."""

import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from departments.models import UnitAlias
from reports.models import Period
from tasks.models import Document, Task

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
SMALL_PLAN = """关于印发测试市2024年深化医改重点工作任务的通知
测政办〔2024〕9号
各县（市、区）人民政府，市政府各部门：
市直各有关单位要在6月20日前报送当前季度各项医改工作任务开展情况。
一、推进分级诊疗
1.推进紧密型县域医共体建设。2024年底前县域就诊率提高到90%以上。（市卫健委、市医保局负责）
2.加强全科医生队伍建设。（市人社局牵头，市卫星办参与）
测试市人民政府办公室
2024年3月1日
"""


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)


def test_extract_ledger_json_prints_the_contract_shape_and_writes_nothing(demo, tmp_path, capsys):
    before = Task.objects.count()
    src = tmp_path / "plan.txt"
    src.write_text(
        (FIXTURES / "shijiazhuang-2020h2-tasks.txt").read_text(encoding="utf-8"), encoding="gb18030"
    )
    call_command("extract_ledger", str(src), "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["doc_number"] == "石政办函〔2020〕32号"
    assert {"title", "issuer", "issued_on", "reporting_dates", "tasks"} <= set(data)
    task = data["tasks"][0]
    assert {
        "path",
        "title",
        "text",
        "lead_units",
        "responsible_units",
        "counties_involved",
        "deadlines",
        "targets",
    } <= set(task)
    assert Task.objects.count() == before


def test_extract_ledger_refuses_an_empty_file_with_a_chinese_message(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(CommandError) as exc:
        call_command("extract_ledger", str(empty), "--json")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(exc.value))


def test_reporter_cannot_open_the_plan_import(client_as, reporter):
    assert client_as(reporter).get(reverse("tasks:extract")).status_code == 403


def _review_form(draft: dict, **overrides) -> dict:
    """The review form as the page posts it: structured deadline and target rows, every task included."""
    form = {
        "doc_number": draft["doc_number"] or "",
        "title": draft["title"],
        "issuer": draft["issuer"] or "",
        "issued_on": draft["issued_on"] or "",
        "action": "confirm",
    }
    for i, t in enumerate(draft["tasks"]):
        form.update(
            {
                f"t{i}-include": "1",
                f"t{i}-path": ".".join(t["path"]),
                f"t{i}-title": t["title"],
                f"t{i}-text": t["text"],
                f"t{i}-lead": "、".join(t["lead_units"]),
                f"t{i}-responsible": "、".join(t["responsible_units"]),
                f"t{i}-dn": str(len(t["deadlines"])),
                f"t{i}-gn": str(len(t["targets"])),
            }
        )
        for j, d in enumerate(t["deadlines"]):
            form.update({f"t{i}-d{j}-date": d["date"] or "", f"t{i}-d{j}-text": d["text"]})
        for j, g in enumerate(t["targets"]):
            low, high = g["value"] if isinstance(g["value"], list) else (g["value"], "")
            form.update(
                {
                    f"t{i}-g{j}-indicator": g["indicator"],
                    f"t{i}-g{j}-op": g["op"],
                    f"t{i}-g{j}-value": str(low),
                    f"t{i}-g{j}-value2": str(high),
                    f"t{i}-g{j}-unit": g["unit"],
                    f"t{i}-g{j}-by": g["by"] or "",
                }
            )
    for n, _name in enumerate(draft["unknown_units"]):
        form[f"map-{n}"] = ""
    form.update(overrides)
    return form


def test_secretariat_reviews_maps_an_unknown_unit_and_confirms(demo, client_as, secretariat):
    from departments.models import Unit

    client = client_as(secretariat)
    response = client.post(reverse("tasks:extract"), {"text": SMALL_PLAN})
    assert response.status_code == 302
    review = client.get(reverse("tasks:plan-review"))
    assert review.status_code == 200
    draft = client.session["plan_draft"]
    assert "市卫星办" in draft["unknown_units"], draft["unknown_units"]
    assert Document.objects.filter(doc_number="测政办〔2024〕9号").count() == 0  # nothing written yet

    target = Unit.objects.get(name="市卫生健康委")
    names = list(draft["unknown_units"])
    form = _review_form(draft, **{f"map-{names.index('市卫星办')}": str(target.pk)})
    response = client.post(reverse("tasks:plan-review"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    doc = Document.objects.get(doc_number="测政办〔2024〕9号")
    assert doc.tasks.count() == len(draft["tasks"]) == 2
    assert UnitAlias.objects.filter(alias="市卫星办", unit=target).exists()
    assert Period.objects.filter(year=2024, quarter=2).exists()
    first = doc.tasks.get(path_key="一.1")
    assert [m.date.isoformat() for m in first.milestones.all()] == ["2024-12-31"]
    target_row = first.targets.get()
    assert (target_row.op, int(target_row.value), target_row.unit) == (">=", 90, "%")


def test_a_bad_deadline_in_the_review_is_refused_and_nothing_is_written(demo, client_as, secretariat):
    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": SMALL_PLAN})
    draft = client.session["plan_draft"]
    form = _review_form(draft, **{"t0-d0-date": "2024-13-45", "t0-d0-text": "年底前", "t0-dn": "1"})
    response = client.post(reverse("tasks:plan-review"), form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "第 1 项任务（一.1）时限第 1 行的日期" in page and "不是有效日期" in page
    assert 'value="年底前"' in page  # what was typed is shown again
    assert not Document.objects.filter(doc_number="测政办〔2024〕9号").exists()
    assert not UnitAlias.objects.filter(alias="市卫星办").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"t0-g0-value": "九十"}, "第 1 项任务（一.1）指标第 1 行的目标值：“九十”不是数字。"),
        (
            {"t0-g0-op": "between", "t0-g0-value2": ""},
            "第 1 项任务（一.1）指标第 1 行：“区间”需要填写下限和上限两个值。",
        ),
        ({"t0-g0-op": "between", "t0-g0-value": "95", "t0-g0-value2": "90"}, "下限 95 大于上限 90"),
        ({"t0-g0-indicator": ""}, "第 1 项任务（一.1）指标第 1 行：指标名称不能为空。"),
        ({"t0-g0-op": ">>"}, "请选择比较方式（不低于、不超过、等于、左右、区间、增加、高于、低于）"),
        ({"t0-g0-by": "明年"}, "第 1 项任务（一.1）指标第 1 行的到期日：“明年”不是有效日期"),
        ({"t1-title": ""}, "第 2 项任务（一.2）：任务名称不能为空。"),
        ({"t0-g0-value2": "95"}, "第 1 项任务（一.1）指标第 1 行：只有比较方式为“区间”时才填写上限。"),
    ],
)
def test_bad_target_fields_are_named_with_their_task_and_nothing_is_written(
    demo, client_as, secretariat, fields, message
):
    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": SMALL_PLAN})
    draft = client.session["plan_draft"]
    response = client.post(reverse("tasks:plan-review"), _review_form(draft, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Document.objects.filter(doc_number="测政办〔2024〕9号").exists()


def test_targets_are_edited_with_chinese_comparison_labels(demo, client_as, secretariat):
    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": SMALL_PLAN})
    page = client.get(reverse("tasks:plan-review")).content.decode()
    assert '<option value="&gt;=" selected>不低于</option>' in page
    for label in ("不超过", "等于", "左右", "区间", "增加"):
        assert f">{label}</option>" in page
    assert "指标 | 比较" not in page  # no pipe-separated text to type


def test_a_weak_unit_match_is_never_preselected_and_must_be_decided(demo, client_as, secretariat):
    plan = SMALL_PLAN.replace("市卫星办参与", "市公安局参与")
    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": plan})
    draft = client.session["plan_draft"]
    n = list(draft["unknown_units"]).index("市公安局")
    page = client.get(reverse("tasks:plan-review")).content.decode()
    select = page[page.index(f'name="map-{n}"') :]
    select = select[: select.index("</select>")]
    assert 'value="?" selected' in select  # "— 请选择 —", not 市人力资源和社会保障局
    form = _review_form(draft)
    form.pop(f"map-{n}")
    response = client.post(reverse("tasks:plan-review"), form)
    assert response.status_code == 400
    assert "未识别的单位“市公安局”：请选择对应的单位、新建单位或忽略。" in response.content.decode()
    assert not UnitAlias.objects.filter(alias="市公安局").exists()
    assert not Document.objects.filter(doc_number="测政办〔2024〕9号").exists()


def test_an_abbreviation_of_one_known_unit_is_preselected(demo, client_as, secretariat):
    from departments.models import Unit

    plan = SMALL_PLAN.replace("市卫星办参与", "市人资社保局参与")  # 市人力社保局 is a former name, resolved
    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": plan})
    draft = client.session["plan_draft"]
    n = list(draft["unknown_units"]).index("市人资社保局")
    page = client.get(reverse("tasks:plan-review")).content.decode()
    select = page[page.index(f'name="map-{n}"') :]
    select = select[: select.index("</select>")]
    unit = Unit.objects.get(name="市人力资源和社会保障局")
    assert f'<option value="{unit.pk}" selected>市人力资源和社会保障局（简称' in select


def test_a_duplicate_doc_number_is_stopped_at_upload_with_a_diff_and_can_update_the_plan(
    demo, client_as, secretariat
):
    from tasks.models import Task

    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": SMALL_PLAN})
    response = client.post(reverse("tasks:plan-review"), _review_form(client.session["plan_draft"]))
    assert response.status_code == 302
    doc = Document.objects.get(doc_number="测政办〔2024〕9号")
    kept = doc.tasks.get(path_key="一.2")

    revised = SMALL_PLAN.replace(
        "2024年底前县域就诊率提高到90%以上", "2024年9月底前县域就诊率提高到92%以上"
    ).replace(
        "2.加强全科医生队伍建设。（市人社局牵头，市卫星办参与）\n",
        "3.推进家庭医生签约服务。（市卫健委负责）\n",
    )
    response = client.post(reverse("tasks:extract"), {"text": revised})
    assert response.status_code == 409
    page = response.content.decode()
    assert "文号 测政办〔2024〕9号 的文件已在台账中" in page
    assert "新增 1 项，修改 1 项，不变 0 项，台账中有而本次文件中没有 1 项" in page
    assert "时间节点" in page and "2024-09-30" in page  # old → new, named in Chinese
    assert Document.objects.filter(doc_number="测政办〔2024〕9号").count() == 1

    assert client.post(reverse("tasks:plan-review"), {"action": "mode-update"}).status_code == 302
    draft = client.session["plan_draft"]
    form = _review_form(draft, remove=str(kept.pk), title="测试市2024年深化医改重点工作任务（修订）")
    response = client.post(reverse("tasks:plan-review"), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Document.objects.filter(doc_number="测政办〔2024〕9号").count() == 1
    alive = {t.path_key: t for t in Task.objects.alive().filter(document=doc)}
    assert sorted(alive) == ["一.1", "一.3"]
    assert [m.date.isoformat() for m in alive["一.1"].milestones.all()] == ["2024-09-30"]
    assert Task.objects.get(pk=kept.pk).deleted_at is not None  # deleted as ticked, restorable
    doc.refresh_from_db()
    assert doc.title == "测试市2024年深化医改重点工作任务（修订）"
    from departments.models import AuditEntry

    entry = AuditEntry.objects.filter(action="plan_update", object_id=str(doc.pk)).get()
    assert "新增 1 项，修改 1 项，删除 1 项" in entry.message and "title" in entry.changes


def test_a_duplicate_doc_number_keeps_tasks_not_ticked_for_removal(demo, client_as, secretariat):
    from tasks.models import Task

    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": SMALL_PLAN})
    client.post(reverse("tasks:plan-review"), _review_form(client.session["plan_draft"]))
    doc = Document.objects.get(doc_number="测政办〔2024〕9号")
    shorter = SMALL_PLAN.replace("2.加强全科医生队伍建设。（市人社局牵头，市卫星办参与）\n", "")
    assert client.post(reverse("tasks:extract"), {"text": shorter}).status_code == 409
    client.post(reverse("tasks:plan-review"), {"action": "mode-update"})
    response = client.post(reverse("tasks:plan-review"), _review_form(client.session["plan_draft"]))
    assert response.status_code == 302
    assert Task.objects.alive().filter(document=doc).count() == 2


def test_pasting_a_novel_gives_a_clear_message(client_as, secretariat):
    response = client_as(secretariat).post(
        reverse("tasks:extract"), {"text": "那是最美好的时代，那是最糟糕的时代。" * 20}
    )
    assert response.status_code == 400
    assert "任务" in response.content.decode()


def test_a_plan_without_doc_number_is_matched_on_its_title_at_upload(demo, client_as, secretariat):
    plan = SMALL_PLAN.replace("测政办〔2024〕9号\n", "")
    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": plan})
    assert client.session["plan_draft"]["doc_number"] is None
    assert (
        client.post(reverse("tasks:plan-review"), _review_form(client.session["plan_draft"])).status_code
        == 302
    )
    response = client.post(reverse("tasks:extract"), {"text": plan})
    assert response.status_code == 409
    assert "（无文号）已在台账中" in response.content.decode()
    client.post(reverse("tasks:plan-review"), {"action": "mode-new"})
    response = client.post(reverse("tasks:plan-review"), _review_form(client.session["plan_draft"]))
    assert response.status_code == 400
    assert "（无文号）已在台账中，不能重复导入" in response.content.decode()
    form = _review_form(client.session["plan_draft"], doc_number="测政办〔2024〕10号")
    assert client.post(reverse("tasks:plan-review"), form).status_code == 302
    assert Document.objects.filter(doc_number="测政办〔2024〕10号").exists()


def test_an_unknown_name_removed_from_every_task_needs_no_decision(demo, client_as, secretariat):
    plan = SMALL_PLAN.replace("市卫星办参与", "市公安局参与")
    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": plan})
    draft = client.session["plan_draft"]
    n = list(draft["unknown_units"]).index("市公安局")
    form = _review_form(draft, **{"t1-responsible": ""})
    form.pop(f"map-{n}")
    response = client.post(reverse("tasks:plan-review"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not UnitAlias.objects.filter(alias="市公安局").exists()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_an_old_word_plan_is_uploaded_through_the_page(demo, client_as, secretariat, tmp_path):
    import subprocess

    import docx
    from django.core.files.uploadedfile import SimpleUploadedFile

    document = docx.Document()
    for line in SMALL_PLAN.splitlines():
        document.add_paragraph(line)
    document.save(tmp_path / "plan.docx")
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "doc:MS Word 97",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "plan.docx"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    upload = SimpleUploadedFile(
        "方案.doc", (tmp_path / "plan.doc").read_bytes(), content_type="application/msword"
    )
    client = client_as(secretariat)
    response = client.post(reverse("tasks:extract"), {"file": upload, "text": ""})
    assert response.status_code == 302, response.content.decode()[:1500]
    draft = client.session["plan_draft"]
    assert draft["doc_number"] == "测政办〔2024〕9号" and len(draft["tasks"]) == 2


def test_a_percent_typed_in_the_value_box_is_read_as_the_unit(demo, client_as, secretariat):
    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": SMALL_PLAN})
    form = _review_form(client.session["plan_draft"], **{"t0-g0-value": "92%", "t0-g0-unit": ""})
    assert client.post(reverse("tasks:plan-review"), form).status_code == 302
    target = Document.objects.get(doc_number="测政办〔2024〕9号").tasks.get(path_key="一.1").targets.get()
    assert (int(target.value), target.unit) == (92, "%")
