"""factory_boy factories for the ledger. Tests build small hand-made ledgers from these."""

import datetime as dt
from decimal import Decimal

import factory

from departments.models import Role, Unit, UnitKind, User
from reports.models import Period, Report, default_due_date
from tasks.models import Document, Milestone, Target, Task, TaskUnit


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"市测试局{n}")
    kind = UnitKind.DEPARTMENT


class CountyFactory(UnitFactory):
    name = factory.Sequence(lambda n: f"测试{n}县政府")
    kind = UnitKind.COUNTY


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.REPORTER
    password = factory.PostGenerationMethodCall("set_password", "Passw0rd!x")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        # set_password only hashes; store the hash explicitly (factory_boy no longer saves implicitly).
        if create and results:
            instance.save(update_fields=["password"])


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    doc_number = factory.Sequence(lambda n: f"测办〔2024〕{n}号")
    title = factory.Sequence(lambda n: f"测试市深化医改实施方案{n}")
    issued_on = dt.date(2024, 1, 15)


class TaskFactory(factory.django.DjangoModelFactory):
    """A task; pass lead=[units], responsible=[units], counties=[units] to attach units."""

    class Meta:
        model = Task
        skip_postgeneration_save = True

    document = factory.SubFactory(DocumentFactory)
    path = factory.Sequence(lambda n: ["一", "(一)", str(n + 1)])
    title = factory.Sequence(lambda n: f"测试任务{n}")
    text = "任务内容"

    @factory.post_generation
    def lead(self, create, extracted, **kwargs):
        for i, unit in enumerate(extracted or []):
            TaskUnit.objects.create(task=self, unit=unit, role=TaskUnit.Role.LEAD, position=i)

    @factory.post_generation
    def responsible(self, create, extracted, **kwargs):
        for i, unit in enumerate(extracted or []):
            TaskUnit.objects.create(task=self, unit=unit, role=TaskUnit.Role.RESPONSIBLE, position=i)

    @factory.post_generation
    def counties(self, create, extracted, **kwargs):
        for i, unit in enumerate(extracted or []):
            TaskUnit.objects.create(task=self, unit=unit, role=TaskUnit.Role.COUNTY, position=i)


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    task = factory.SubFactory(TaskFactory)
    date = dt.date(2024, 12, 31)
    text = "2024年底前"


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Target

    task = factory.SubFactory(TaskFactory)
    indicator = "县域就诊率"
    op = ">="
    value = Decimal("90")
    unit = "%"
    due = dt.date(2024, 12, 31)


class PeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Period
        django_get_or_create = ("year", "quarter")

    year = 2024
    quarter = 3
    due_date = factory.LazyAttribute(lambda o: default_due_date(o.year, o.quarter))
    is_open = True


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    task = factory.SubFactory(TaskFactory)
    unit = factory.SubFactory(UnitFactory)
    period = factory.SubFactory(PeriodFactory)
