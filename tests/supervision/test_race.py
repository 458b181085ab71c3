"""Two secretaries deciding the same 延期申请 at the same moment (PostgreSQL, one connection each): one wins,
the other gets 409, and the milestone moves once."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from departments.services import ConflictError
from reports.extensions import extension_approve, extension_reject, extension_request
from tasks.models import ExtensionRequest, Milestone

pytestmark = [pytest.mark.integration]


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("并发审批测试需要 PostgreSQL（设置 DATABASE_URL；make test 会自动设置）")


def run_together(funcs):
    barrier = threading.Barrier(len(funcs))
    results: list = [None] * len(funcs)

    def worker(i):
        try:
            barrier.wait(timeout=10)
            results[i] = funcs[i]()
        except Exception as exc:  # noqa: BLE001 - collected and asserted on by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(funcs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("second", ["approve", "reject"])
def test_two_secretaries_deciding_at_once_one_wins_the_other_gets_409(
    postgres, world, reporter, secretariat, second_secretary, second
):
    req = extension_request(
        task=world["t1"], milestone_date="2026-06-30", new_date="2026-09-30", reason="理由", actor=reporter
    )
    other = extension_approve if second == "approve" else extension_reject
    for _round in range(5):  # several rounds: the interleaving differs from run to run
        ExtensionRequest.objects.filter(pk=req.pk).update(status="pending", decided_by=None, decided_at=None)
        Milestone.objects.filter(task=world["t1"], text="2026年6月底前").update(
            date="2026-06-30", original_date=None
        )
        results = run_together(
            [
                lambda: extension_approve(extension=req, actor=secretariat),
                lambda: other(extension=req, actor=second_secretary, reason="不同意"),
            ]
        )
        conflicts = [r for r in results if isinstance(r, ConflictError)]
        wins = [r for r in results if isinstance(r, ExtensionRequest)]
        assert len(wins) == 1 and len(conflicts) == 1, results
        assert conflicts[0].status_code == 409 and "不能重复审批" in conflicts[0].message
        fresh = ExtensionRequest.objects.get(pk=req.pk)
        assert fresh.status == wins[0].status and fresh.decided_by_id == wins[0].decided_by_id
        moved = Milestone.objects.get(task=world["t1"], text="2026年6月底前")
        if fresh.status == "approved":
            assert (moved.date, moved.original_date) == (dt.date(2026, 9, 30), dt.date(2026, 6, 30))
        else:
            assert (moved.date, moved.original_date) == (dt.date(2026, 6, 30), None)
