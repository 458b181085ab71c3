import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reform_ledger.settings.local")

app = Celery("reform_ledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Our Celery code lives in jobs.py: one app is called `tasks`, and tasks/tasks.py would confuse everyone.
app.autodiscover_tasks(related_name="jobs")


@app.task(name="reform_ledger.ping")
def ping(token: str) -> str:
    """Round trip through broker, worker and database: leaves an audit record `system.ping` carrying `token`.

    Used by the infrastructure tests (and by hand: `ping.delay("hello")`) to prove that a job queued by
    one process is executed by a worker that writes to the same database.
    """
    from departments.services import audit_log

    audit_log(action="system.ping", object_type="worker", object_id=str(os.getpid()), message=token)
    return token
