"""The small world the role-matrix test calls every URL in: two departments, a county, tasks led by unit A with
the county involved, unit A's submitted report with an attachment, the county's draft and its submitted report,
a notification, and one account per role."""

import datetime as dt
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from departments.models import Role, UnitKind
from reports.models import Attachment, Notice, Notification, ReportStatus
from tasks.models import ExtensionRequest, Milestone
from tests.factories import (
    DocumentFactory,
    PeriodFactory,
    ReportFactory,
    TaskFactory,
    UnitFactory,
    UserFactory,
)

ROLES = ["anonymous", "reporter_a", "reporter_b", "county", "leader", "secretariat", "admin", "auditor"]


@dataclass
class World:
    objects: dict
    clients: dict


def build_world() -> World:
    unit_a = UnitFactory(name="市医疗保障局", short_name="市医保局")
    unit_b = UnitFactory(name="市财政局")
    county = UnitFactory(name="叶县政府", short_name="叶县", kind=UnitKind.COUNTY)
    sec_unit = UnitFactory(name="市医改办", kind=UnitKind.SECRETARIAT)
    users = {
        "reporter_a": UserFactory(username="rep_a", role=Role.REPORTER, unit=unit_a),
        "reporter_b": UserFactory(username="rep_b", role=Role.REPORTER, unit=unit_b),
        "county": UserFactory(username="rep_county", role=Role.REPORTER, unit=county),
        "leader": UserFactory(username="leader", role=Role.LEADER),
        "secretariat": UserFactory(username="sec", role=Role.SECRETARIAT, unit=sec_unit),
        "admin": UserFactory(username="admin1", role=Role.ADMIN, is_staff=True),
        "auditor": UserFactory(username="auditor1", role=Role.AUDITOR),
    }
    document = DocumentFactory()
    task = TaskFactory(
        document=document, lead=[unit_a], counties=[county]
    )  # unit A leads; the county reports too
    deleted_task = TaskFactory(document=document, lead=[unit_a], deleted_at=timezone.now())
    today = timezone.localdate()
    period = PeriodFactory(
        year=today.year,
        quarter=(today.month - 1) // 3 + 1,
        is_open=True,
        due_date=today + dt.timedelta(days=20),
    )
    submitted = {
        "status": ReportStatus.SUBMITTED,
        "submitted_at": timezone.now(),
        "first_submitted_at": timezone.now(),
    }
    report = ReportFactory(
        task=task, unit=unit_a, period=period, text="医保局已完成支付方式改革", **submitted
    )
    # The county's draft on the task unit A leads: the county's own until submitted (not even the lead unit's).
    draft = ReportFactory(task=task, unit=county, period=period, text="草稿：尚未提交")
    # A submitted county report on another task unit A leads: the lead unit reads it, read-only.
    task2 = TaskFactory(document=document, lead=[unit_a], counties=[county])
    county_report = ReportFactory(task=task2, unit=county, period=period, text="县区进展", **submitted)
    attachment = Attachment(
        report=report,
        original_name="附件.pdf",
        content_type="application/pdf",
        size=8,
        uploaded_by=users["reporter_a"],
    )
    attachment.file.save("x", ContentFile(b"%PDF-1.4"), save=True)
    notification = Notification.objects.create(user=users["reporter_a"], kind="reminder", message="请填报")
    notice = Notice.objects.create(
        year=today.year,
        seq=1,
        number=f"督办〔{today.year}〕1号",
        unit=unit_a,
        text="请整改",
        reply_by=today + dt.timedelta(days=10),
        issued_by=users["secretariat"],
        issued_at=timezone.now(),
    )
    notice.tasks.set([task])
    milestone = Milestone.objects.create(task=task, date=today + dt.timedelta(days=40), text="节点")
    extension = ExtensionRequest.objects.create(
        task=task,
        milestone=milestone,
        unit=unit_a,
        milestone_date=milestone.date,
        new_date=milestone.date + dt.timedelta(days=30),
        reason="理由",
        requested_by=users["reporter_a"],
    )
    clients = {"anonymous": Client()}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    objects = dict(
        users,
        unit_a=unit_a,
        unit_b=unit_b,
        county_unit=county,
        document=document,
        task=task,
        deleted_task=deleted_task,
        period=period,
        report=report,
        attachment=attachment,
        draft=draft,
        task2=task2,
        county_report=county_report,
        notification=notification,
        notice=notice,
        extension=extension,
    )
    return World(objects=objects, clients=clients)
