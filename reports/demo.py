"""The demo installation (`load_demo`): the ledger of tasks.demo plus quarterly reporting periods 2020–2022.
Loading twice changes nothing."""

from django.db import transaction

from tasks.demo import demo_config, load_demo_ledger

from .models import Period, default_due_date


@transaction.atomic
def load_demo(*, stdout=None) -> dict:
    result = load_demo_ledger(stdout=stdout)
    periods = demo_config()["periods"]
    for year in periods["years"]:
        for quarter in range(1, 5):
            Period.objects.get_or_create(
                year=year,
                quarter=quarter,
                defaults={
                    "due_date": default_due_date(year, quarter),
                    "is_open": [year, quarter] in periods["open"],
                },
            )
    return result
