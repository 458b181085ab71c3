"""Load test: 100 reporters save and submit quarterly reports while 10 leaders refresh the dashboard.

Run the whole thing (PostgreSQL, Redis, gunicorn and a Celery worker started on loopback, production settings):

    bench/run_load_test.sh                 # 5 minutes, 100 reporters, 10 leaders
    DURATION=60s bench/run_load_test.sh    # a shorter run while iterating
    RATE=20 bench/run_load_test.sh         # 20 requests/s offered instead of saturation

This file has three parts, used by run_load_test.sh:

- ``python bench/load_test.py setup --out setup.json``: on the database in DATABASE_URL (after load_demo), a
  synthetic ledger (`generate_scale_data`), a fresh open period, one reporter account for each of 100 units
  and 10 leader accounts; writes who reports on which tasks to setup.json.
- the locust user classes below (``locust -f bench/load_test.py``): reporters use the REST API with the
  token setup issued them (create or fetch the report, save it once or twice with the version they read, submit it; a few click
  submit twice), leaders sign in on the login page and alternate between the dashboard page and
  ``GET /api/dashboard/overdue/``. Every submission that answered 200 is appended to $LOAD_SUBMITTED;
  status codes per request kind go to $LOAD_STATUS (JSON) when locust stops.
- ``python bench/load_test.py verify --setup setup.json --submitted FILE --status FILE --stats PREFIX``:
  prints throughput, median and 95th percentile per request kind (from locust's CSV), the status codes, and
  checks in the database that every submission a client saw succeed is there exactly once. Exit status 1 if
  any 5xx was answered or the database disagrees with what the clients saw.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Load#Test2026x"
REPORTERS = 100
LEADERS = 10

# ------------------------------------------------------------------------------------------------ locust users

try:
    from locust import HttpUser, between, constant_throughput, events, task

    # RATE=N (requests per second offered by all users together) instead of saturation: 20/s is a busy
    # deadline day for one city; without it every user clicks as fast as its think time allows.
    _rate = float(os.environ.get("LOAD_RATE") or 0)

    # A reporter's action is 3.2 requests on average (1 list, or open + one or two saves + submit), a leader's 1:
    # each user's actions per second are chosen so that all of them together offer _rate requests per second.
    REPORTER_REQUESTS_PER_ACTION, LEADER_REQUESTS_PER_ACTION = 3.2, 1.0
    _per_user = _rate / (REPORTERS * REPORTER_REQUESTS_PER_ACTION + LEADERS * LEADER_REQUESTS_PER_ACTION)

    def _wait(saturating):
        return constant_throughput(_per_user) if _rate else saturating
except ImportError:  # setup / verify run without locust
    HttpUser = None

if HttpUser is not None:
    _setup: dict = {}
    _status_counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    _submitted_file = None
    _reporter_slots: list[dict] = []

    @events.test_start.add_listener
    def _on_start(environment, **kwargs):
        global _setup, _submitted_file
        _setup = json.loads(Path(os.environ["LOAD_SETUP"]).read_text())
        _reporter_slots.extend(_setup["reporters"])
        random.Random(7).shuffle(_reporter_slots)
        _submitted_file = open(os.environ["LOAD_SUBMITTED"], "a", buffering=1)  # noqa: SIM115 - whole run

    @events.request.add_listener
    def _on_request(request_type, name, response, exception, **kwargs):
        code = getattr(response, "status_code", None)
        _status_counts[name][str(code if code else f"error: {type(exception).__name__}")] += 1

    @events.test_stop.add_listener
    def _on_stop(environment, **kwargs):
        if _submitted_file:
            _submitted_file.flush()
        path = os.environ.get("LOAD_STATUS")
        if path:
            Path(path).write_text(json.dumps(_status_counts, ensure_ascii=False, indent=1))

    def _expect(resp, *codes):
        """Mark the request failed unless its status is one of `codes`; returns the JSON body or None."""
        if resp.status_code in codes:
            resp.success()
            try:
                return resp.json()
            except ValueError:
                return None
        resp.failure(f"HTTP {resp.status_code}: {resp.text[:200]}")
        return None

    class Reporter(HttpUser):
        """One unit's 联络员: for each of the unit's tasks, open the report, fill it in, submit it."""

        fixed_count = REPORTERS
        wait_time = _wait(between(0.5, 2.0))

        def on_start(self):
            me = _reporter_slots.pop()
            self.username, self.unit = me["username"], me["unit"]
            self.todo = list(me["tasks"])
            random.shuffle(self.todo)
            self.period = _setup["period"]
            # Signed in before the run (setup issued the token POST /api/auth/token/ hands out): a password
            # hash costs about a CPU-second by design, and a hundred of them at once would measure PBKDF2,
            # not saving and submitting. Leaders below do sign in during the run.
            self.client.headers["Authorization"] = f"Token {me['token']}"

        @task(1)
        def list_my_reports(self):
            with self.client.get(
                f"/api/reports/?period={self.period}", name="GET /api/reports/?period=", catch_response=True
            ) as resp:
                _expect(resp, 200)

        @task(6)
        def report_one_task(self):
            if not self.todo:
                self.list_my_reports()
                return
            task_id = self.todo.pop()
            with self.client.post(
                "/api/reports/",
                json={"task": task_id, "period": self.period},
                name="POST /api/reports/ (open draft)",
                catch_response=True,
            ) as resp:
                report = _expect(resp, 200, 201)
            if not report:
                return
            if report["status"] in ("submitted", "accepted"):
                return
            rid = report["id"]
            version = report["version"]
            for i in range(1 + (random.random() < 0.3)):  # some reporters save twice before submitting
                body = {
                    "version": version,
                    "progress": random.choice(["推进中", "已完成", "滞后"]),
                    "percent": random.randint(10, 100),
                    "text": f"本季度{self.unit}按计划推进该项工作（第{i + 1}次保存）。",
                    "problems": "基层人员不足。",
                    "next_steps": "下季度继续推进。",
                }
                with self.client.patch(
                    f"/api/reports/{rid}/",
                    json=body,
                    name="PATCH /api/reports/{id}/ (save)",
                    catch_response=True,
                ) as resp:
                    saved = _expect(resp, 200)
                if not saved:
                    return
                version = saved["version"]
            with self.client.post(
                f"/api/reports/{rid}/submit/",
                json={"version": version},
                name="POST /api/reports/{id}/submit/",
                catch_response=True,
            ) as resp:
                done = _expect(resp, 200)
            if done and done["status"] == "submitted":
                _submitted_file.write(f"{rid}\t{task_id}\t{self.unit}\t{self.period}\n")
            if done and random.random() < 0.1:
                # A double click: the second submit must be refused, not recorded twice.
                with self.client.post(
                    f"/api/reports/{rid}/submit/",
                    json={"version": done["version"]},
                    name="POST /api/reports/{id}/submit/ (again: 400 expected)",
                    catch_response=True,
                ) as resp:
                    _expect(resp, 400)

    class Leader(HttpUser):
        """A 领导小组 member refreshing the overdue dashboard (page and API) in a signed-in browser session."""

        fixed_count = LEADERS
        wait_time = _wait(between(1.0, 3.0))

        def on_start(self):
            me = _setup["leaders"][len(_setup.setdefault("_leaders_started", []))]
            _setup["_leaders_started"].append(me)
            page = self.client.get("/login/", name="GET /login/")
            token = self.client.cookies.get("csrftoken", "")
            with self.client.post(
                "/login/",
                data={"username": me, "password": PASSWORD, "csrfmiddlewaretoken": token},
                headers={"Referer": page.url},
                allow_redirects=False,
                name="POST /login/",
                catch_response=True,
            ) as resp:
                _expect(resp, 302)

        @task(1)
        def dashboard_page(self):
            with self.client.get(
                "/reports/dashboard/", name="GET /reports/dashboard/", catch_response=True
            ) as resp:
                _expect(resp, 200)

        @task(1)
        def dashboard_api(self):
            with self.client.get(
                "/api/dashboard/overdue/", name="GET /api/dashboard/overdue/", catch_response=True
            ) as resp:
                _expect(resp, 200)


# ------------------------------------------------------------------------------------------------ setup / verify


def _django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reform_ledger.settings.production")
    import django

    django.setup()


def setup(args) -> None:
    """Synthetic ledger, a fresh open period, reporter accounts for 100 units, leader accounts."""
    _django()
    import datetime as dt

    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.utils import timezone

    from departments.models import Role, Unit, User
    from departments.tokens import token_issue
    from reports.period_services import period_open
    from tasks.selectors import tasks_visible_to

    today = timezone.localdate()
    # Reports of the synthetic history end last quarter; this quarter's period is opened fresh below, so the
    # reporters start from empty forms (as on the first day of a reporting round).
    last_quarter_day = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1) - dt.timedelta(days=1)
    if not Unit.objects.filter(name__startswith="规模测试").exists():
        call_command(
            "generate_scale_data",
            tasks=args.tasks,
            units=args.reporters - args.counties,
            counties=args.counties,
            quarters=4,
            today=last_quarter_day,
            county_share=0.2,
        )
    secretariat = User.objects.get(username="yigaiban")
    period, _ = period_open(year=today.year, quarter=(today.month + 2) // 3, actor=secretariat)

    units = list(
        Unit.objects.filter(name__startswith="规模测试").order_by("kind", "sort_order")[: args.reporters]
    )
    assert len(units) == args.reporters, f"only {len(units)} synthetic units"
    password = make_password(PASSWORD)
    reporters = []
    for i, unit in enumerate(units, start=1):
        user, _ = User.objects.update_or_create(
            username=f"load_rep{i:03d}",
            defaults={"role": Role.REPORTER, "unit": unit, "is_active": True, "password": password},
        )
        tasks = list(tasks_visible_to(user=user).values_list("pk", flat=True))
        _, key = token_issue(user=user, name="load test")
        reporters.append({"username": user.username, "unit": unit.name, "tasks": tasks, "token": key})
    leaders = []
    for i in range(1, args.leaders + 1):
        User.objects.update_or_create(
            username=f"load_lead{i:02d}",
            defaults={"role": Role.LEADER, "is_active": True, "password": password},
        )
        leaders.append(f"load_lead{i:02d}")
    Path(args.out).write_text(
        json.dumps({"period": period.pk, "reporters": reporters, "leaders": leaders}, ensure_ascii=False)
    )
    n_tasks = sum(len(r["tasks"]) for r in reporters)
    print(f"setup: period {period.label} (id {period.pk}), {len(reporters)} reporters, {len(leaders)} leaders, "
          f"{n_tasks} (task, unit) reports to write")  # fmt: skip


def _stats_table(prefix: str) -> tuple[list[str], float]:
    import csv

    rows = list(csv.DictReader(open(f"{prefix}_stats.csv", encoding="utf-8")))
    lines = [f"{'request':58} {'count':>7} {'fail':>5} {'req/s':>7} {'median':>7} {'p95':>7} {'max':>7}"]
    total_rps = 0.0
    for r in rows:
        name = r["Name"] if r["Name"] != "Aggregated" else "ALL"
        if r["Name"] == "Aggregated":
            total_rps = float(r["Requests/s"])
        lines.append(
            f"{name:58} {r['Request Count']:>7} {r['Failure Count']:>5} {float(r['Requests/s']):>7.1f} "
            f"{r['50%']:>5}ms {r['95%']:>5}ms {float(r['Max Response Time']):>5.0f}ms"
        )
    return lines, total_rps


def verify(args) -> int:
    _django()
    from django.db.models import Count

    from reports.models import Report, ReportRevision

    problems = []
    lines, _ = _stats_table(args.stats)
    print("\n".join(lines))

    status = json.loads(Path(args.status).read_text())
    print("\nstatus codes per request kind:")
    n5xx = 0
    for name, codes in sorted(status.items()):
        print(f"  {name:58} " + ", ".join(f"{c}: {n}" for c, n in sorted(codes.items())))
        n5xx += sum(n for c, n in codes.items() if c.startswith("5") or c.startswith("error"))
    if n5xx:
        problems.append(f"{n5xx} answers were 5xx or connection errors")

    setup_data = json.loads(Path(args.setup).read_text())
    period = setup_data["period"]
    seen = [line.split("\t") for line in Path(args.submitted).read_text().splitlines() if line.strip()]
    seen_ids = [int(row[0]) for row in seen]
    twice = [rid for rid, n in collections.Counter(seen_ids).items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} reports were answered 'submitted' more than once: {twice[:10]}")
    reports = {r.pk: r for r in Report.objects.filter(pk__in=seen_ids).select_related("unit")}
    missing = [rid for rid in seen_ids if rid not in reports]
    wrong_status = [rid for rid, r in reports.items() if r.status not in ("submitted", "accepted")]
    mismatched = [
        int(row[0]) for row in seen
        if int(row[0]) in reports and (reports[int(row[0])].task_id != int(row[1]) or reports[int(row[0])].unit.name != row[2])
    ]  # fmt: skip
    submit_revisions = collections.Counter(
        ReportRevision.objects.filter(report_id__in=seen_ids, action="submit").values_list(
            "report_id", flat=True
        )
    )
    not_once = [rid for rid in set(seen_ids) if submit_revisions[rid] != 1]
    duplicates = list(
        Report.objects.filter(period_id=period)
        .values("task_id", "unit_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)[:10]
    )
    in_db = Report.objects.filter(period_id=period, status__in=("submitted", "accepted")).count()
    print(
        f"\nsubmissions the clients saw succeed: {len(seen_ids)} ({len(set(seen_ids))} distinct reports)\n"
        f"submitted reports in the database for the period: {in_db}\n"
        f"missing in the database: {len(missing)}; wrong status: {len(wrong_status)}; "
        f"other task/unit: {len(mismatched)}; submit recorded != once: {len(not_once)}; "
        f"(task, unit) with more than one report: {len(duplicates)}"
    )
    for label, bad in (
        ("missing", missing),
        ("not submitted/accepted", wrong_status),
        ("task/unit mismatch", mismatched),
        ("submit revision count != 1", not_once),
        ("duplicate (task, unit, period)", duplicates),
    ):
        if bad:
            problems.append(f"{label}: {bad[:10]}")
    if in_db != len(set(seen_ids)):
        # Not a failure by itself (a response can be lost after the commit), but worth reading.
        print(f"note: {in_db - len(set(seen_ids))} submitted reports whose success no client saw")
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems))
        return 1
    print("\nOK: no 5xx, every submission the clients saw is in the database exactly once")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--out", required=True)
    s.add_argument("--reporters", type=int, default=REPORTERS)
    s.add_argument("--counties", type=int, default=10)
    s.add_argument("--leaders", type=int, default=LEADERS)
    s.add_argument("--tasks", type=int, default=1500)
    v = sub.add_parser("verify")
    for name in ("--setup", "--submitted", "--status", "--stats"):
        v.add_argument(name, required=True)
    args = parser.parse_args()
    if args.cmd == "setup":
        setup(args)
        return 0
    return verify(args)


if __name__ == "__main__":
    sys.exit(main())
