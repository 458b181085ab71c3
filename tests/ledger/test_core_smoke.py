import datetime as dt

import pytest

from tasks.lights import task_light
from tasks.models import Light
from tests.factories import MilestoneFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_task_with_past_milestone_is_overdue_and_says_why(unit_a):
    task = TaskFactory(lead=[unit_a])
    MilestoneFactory(task=task, date=dt.date(2024, 12, 31), text="2024年底前", context="完成全市推广")
    task.refresh_from_db()
    info = task_light(task, today=dt.date(2025, 1, 10))
    assert info.light == Light.OVERDUE
    assert "2024-12-31" in info.reason and "10 天" in info.reason
