"""The secretariat's task form: scalar fields as a Django form, milestones and targets as repeated rows.

Everything is read as text here and converted by the services' parsers, so every bad value comes back as an
ApplicationError whose message names the field (第 2 个指标的目标值“abc”不是数字).
"""

import re
import unicodedata

from django import forms

from departments.selectors import counties as county_units
from departments.services import ApplicationError

from .models import Document, Progress, Task
from .services import MilestoneData, TargetData, TaskData, milestones_read, parse_date, parse_decimal

UNIT_SEPARATORS = re.compile(r"[、,，;；\n\r]+")
EXTRA_MILESTONE_ROWS = 3
EXTRA_TARGET_ROWS = 2

# The comparisons a person picks from; the stored op is the value.
OP_CHOICES = [
    (">=", "≥"),
    ("<=", "≤"),
    ("=", "="),
    ("~", "约"),
    ("between", "介于"),
    (">", ">"),
    ("<", "<"),
    ("+=", "增加"),
]


def split_units(text: str) -> list[str]:
    return [p.strip() for p in UNIT_SEPARATORS.split(text or "") if p.strip()]


def parse_path(text: str) -> list[str]:
    """二.(一).1 -> ["二", "(一)", "1"]; full-width （一） and ．are accepted."""
    text = unicodedata.normalize("NFKC", text or "").replace("、", ".")
    parts = [p.strip() for p in text.split(".") if p.strip()]
    if not parts:
        raise ApplicationError("请填写编号，例如 二.(一).1。", field="path")
    return parts


def _required(label: str) -> dict:
    return {"required": f"请填写{label}。", "invalid": f"{label}格式不正确。"}


class TaskForm(forms.Form):
    document = forms.ModelChoiceField(
        label="所属文件",
        queryset=Document.objects.order_by("-issued_on", "id"),
        error_messages={"required": "请选择所属文件。", "invalid_choice": "所选文件不存在。"},
    )
    path = forms.CharField(
        label="编号", max_length=100, error_messages=_required("编号"), help_text="例如 二.(一).1"
    )
    title = forms.CharField(label="任务名称", max_length=500, error_messages=_required("任务名称"))
    text = forms.CharField(label="任务内容", required=False, widget=forms.Textarea(attrs={"rows": 6}))
    note = forms.CharField(label="备注", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    status = forms.ChoiceField(
        label="进展状态",
        choices=Progress.choices,
        error_messages={"required": "请选择进展状态。", "invalid_choice": "进展状态“%(value)s”无效。"},
    )
    lead_units = forms.CharField(
        label="牵头单位", required=False, help_text="多个单位用“、”分隔，可输入简称或别名"
    )
    responsible_units = forms.CharField(label="责任单位", required=False)
    all_counties = forms.BooleanField(label="全部县(市、区)政府", required=False)
    counties = forms.CharField(
        label="县(市、区)", required=False, help_text="只涉及部分县区时填写，用“、”分隔"
    )
    version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, error_messages={"invalid": "版本号格式不正确。"}
    )

    def __init__(self, *args, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        if not creating:
            del self.fields["document"]

    @classmethod
    def initial_for(cls, task: Task) -> dict:
        counties = task.counties
        every = {u.pk for u in county_units()}
        all_counties = bool(counties) and {u.pk for u in counties} == every
        return {
            "path": task.path_key,
            "title": task.title,
            "text": task.text,
            "note": task.note,
            "status": task.status,
            "lead_units": "、".join(u.name for u in task.lead_units),
            "responsible_units": "、".join(u.name for u in task.responsible_units),
            "all_counties": all_counties,
            "counties": "" if all_counties else "、".join(u.name for u in counties),
            "version": task.version,
        }

    def to_task_data(self, *, milestones: list[MilestoneData], targets: list[TargetData]) -> TaskData:
        c = self.cleaned_data
        return TaskData(
            path=parse_path(c["path"]),
            title=c["title"],
            text=c["text"],
            note=c["note"],
            status=c["status"],
            lead_units=split_units(c["lead_units"]),
            responsible_units=split_units(c["responsible_units"]),
            counties=["*"] if c["all_counties"] else split_units(c["counties"]),
            milestones=milestones,
            targets=targets,
        )


MILESTONE_COLUMNS = ("m_date", "m_text")
TARGET_COLUMNS = ("t_indicator", "t_op", "t_value", "t_value_high", "t_unit", "t_due", "t_baseline")


def _rows(post, columns) -> list[dict]:
    """Repeated inputs with the same name come back as parallel lists, one entry per row, in page order."""
    lists = [post.getlist(c) for c in columns]
    n = max((len(v) for v in lists), default=0)
    rows = []
    for i in range(n):
        row = {c: (v[i] if i < len(v) else "").strip() for c, v in zip(columns, lists, strict=True)}
        rows.append(row)
    return rows


def milestone_rows_from_post(post) -> list[dict]:
    return [r for r in _rows(post, MILESTONE_COLUMNS) if r["m_date"] or r["m_text"]]


def target_rows_from_post(post) -> list[dict]:
    return [r for r in _rows(post, TARGET_COLUMNS) if any(v for k, v in r.items() if k != "t_op")]


def milestones_from_rows(rows: list[dict], *, year: int | None = None) -> list[MilestoneData]:
    """The form's milestone rows; a date may be typed as a phrase (2022年6月底前), read by the one deadline parser."""
    return milestones_read([(r["m_date"], r["m_text"]) for r in rows], year=year)


def targets_from_rows(rows: list[dict]) -> list[TargetData]:
    out = []
    valid_ops = dict(OP_CHOICES)
    for i, r in enumerate(rows, start=1):
        where = f"第 {i} 个指标"
        if not r["t_indicator"]:
            raise ApplicationError(f"{where}缺少指标名称。", field="targets")
        if r["t_op"] not in valid_ops:
            raise ApplicationError(
                f"{where}的比较方式“{r['t_op']}”无效，可选：{'、'.join(valid_ops.values())}。",
                field="targets",
            )
        value = parse_decimal(r["t_value"], field_name="targets", label=f"{where}的目标值")
        if value is None:
            raise ApplicationError(f"{where}缺少目标值。", field="targets")
        out.append(
            TargetData(
                indicator=r["t_indicator"],
                op=r["t_op"],
                value=value,
                value_high=parse_decimal(r["t_value_high"], field_name="targets", label=f"{where}的上限值"),
                unit=r["t_unit"],
                due=parse_date(r["t_due"], field_name="targets", label=f"{where}的到期日"),
                baseline=parse_decimal(r["t_baseline"], field_name="targets", label=f"{where}的基线值"),
            )
        )
    return out


def _fmt(value) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f")


def milestone_rows_for(task: Task | None) -> list[dict]:
    rows = []
    if task is not None:
        rows = [
            {"m_date": m.date.isoformat() if m.date else "", "m_text": m.text} for m in task.milestones.all()
        ]
    return rows


def target_rows_for(task: Task | None) -> list[dict]:
    rows = []
    if task is not None:
        for t in task.targets.all():
            rows.append(
                {
                    "t_indicator": t.indicator,
                    "t_op": t.op,
                    "t_value": _fmt(t.value),
                    "t_value_high": _fmt(t.value_high),
                    "t_unit": t.unit,
                    "t_due": t.due.isoformat() if t.due else "",
                    "t_baseline": _fmt(t.baseline),
                }
            )
    return rows


def with_blank_rows(rows: list[dict], columns, extra: int) -> list[dict]:
    return rows + [dict.fromkeys(columns, "") for _ in range(extra)]
