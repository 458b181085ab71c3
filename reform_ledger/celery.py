import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reform_ledger.settings.local")

app = Celery("reform_ledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Our Celery code lives in jobs.py: one app is called `tasks`, and tasks/tasks.py would confuse everyone.
app.autodiscover_tasks(related_name="jobs")
