"""Forms of the reporting pages. The quarterly form itself has one row per task and is read in views/form.py
(row fields are named ``t<task id>-<field>``); these are the small fixed forms around it."""

import datetime as dt

from django import forms

from .models import default_due_date


class PeriodOpenForm(forms.Form):
    year = forms.IntegerField(
        label="年度", min_value=2000, max_value=2100, error_messages={"invalid": "年度应为数字。"}
    )
    quarter = forms.TypedChoiceField(
        label="季度", coerce=int, choices=[(q, f"第{'一二三四'[q - 1]}季度") for q in range(1, 5)]
    )
    due_date = forms.DateField(
        label="报送截止日",
        required=False,
        help_text="留空则为季度末月 20 日",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "报送截止日不是有效日期（格式 YYYY-MM-DD）。"},
    )

    @staticmethod
    def initial_for(today: dt.date) -> dict:
        quarter = (today.month - 1) // 3 + 1
        return {"year": today.year, "quarter": quarter, "due_date": default_due_date(today.year, quarter)}


class DueDateForm(forms.Form):
    due_date = forms.DateField(
        label="报送截止日",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": "请填写报送截止日。",
            "invalid": "报送截止日不是有效日期（格式 YYYY-MM-DD）。",
        },
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="原因",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写原因。"},
    )
