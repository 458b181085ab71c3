"""The Django side of plan extraction: command, review screen, confirm."""

import json
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
    src.write_text((FIXTURES / "shijiazhuang-2020h2-tasks.txt").read_text(encoding="utf-8"), encoding="gb18030")
    call_command("extract_ledger", str(src), "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["doc_number"] == "石政办函〔2020〕32号"
    assert {"title", "issuer", "issued_on", "reporting_dates", "tasks"} <= set(data)
    task = data["tasks"][0]
    assert {"path", "title", "text", "lead_units", "responsible_units", "counties_involved", "deadlines", "targets"} <= set(task)
    assert Task.objects.count() == before


def test_extract_ledger_refuses_an_empty_file_with_a_chinese_message(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(CommandError) as exc:
        call_command("extract_ledger", str(empty), "--json")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(exc.value))


def test_reporter_cannot_open_the_plan_import(client_as, reporter):
    assert client_as(reporter).get(reverse("tasks:extract")).status_code == 403


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
    form = {"doc_number": draft["doc_number"], "title": draft["title"], "issuer": draft["issuer"] or "",
            "issued_on": draft["issued_on"] or "", "action": "confirm"}
    names = list(draft["unknown_units"])
    for n, name in enumerate(names):
        form[f"map-{n}"] = str(target.pk) if name == "市卫星办" else ""
    for i, t in enumerate(draft["tasks"]):
        form.update({
            f"t{i}-include": "1", f"t{i}-path": ".".join(t["path"]), f"t{i}-title": t["title"], f"t{i}-text": t["text"],
            f"t{i}-lead": "、".join(t["lead_units"]), f"t{i}-responsible": "、".join(t["responsible_units"]),
            f"t{i}-deadlines": "\n".join(f"{d['date'] or ''} | {d['text']}" for d in t["deadlines"]), f"t{i}-targets": "",
        })
    response = client.post(reverse("tasks:plan-review"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    doc = Document.objects.get(doc_number="测政办〔2024〕9号")
    assert doc.tasks.count() == len(draft["tasks"]) == 2
    assert UnitAlias.objects.filter(alias="市卫星办", unit=target).exists()
    assert Period.objects.filter(year=2024, quarter=2).exists()


def test_a_bad_deadline_in_the_review_is_refused_and_nothing_is_written(demo, client_as, secretariat):
    client = client_as(secretariat)
    client.post(reverse("tasks:extract"), {"text": SMALL_PLAN})
    draft = client.session["plan_draft"]
    form = {"doc_number": draft["doc_number"], "title": draft["title"], "action": "confirm"}
    for i, t in enumerate(draft["tasks"]):
        form.update({f"t{i}-include": "1", f"t{i}-path": ".".join(t["path"]), f"t{i}-title": t["title"],
                     f"t{i}-lead": "市卫生健康委", f"t{i}-deadlines": "2024-13-45 | 年底前"})
    response = client.post(reverse("tasks:plan-review"), form)
    assert response.status_code == 400
    assert "不是日期" in response.content.decode()
    assert not Document.objects.filter(doc_number="测政办〔2024〕9号").exists()


def test_pasting_a_novel_gives_a_clear_message(client_as, secretariat):
    response = client_as(secretariat).post(reverse("tasks:extract"), {"text": "那是最美好的时代，那是最糟糕的时代。" * 20})
    assert response.status_code == 400
    assert "任务" in response.content.decode()
