"""At the database: the application's role may read and append audit rows, never change, delete or truncate them,
nor disable the trigger that guards them; everything else it needs, it may do."""

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.integration]


@pytest.fixture
def pg(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("数据库角色测试需要 PostgreSQL（设置 DATABASE_URL；make test 会自动设置）")
    s = connection.settings_dict
    host, port, name = s["HOST"] or "127.0.0.1", s["PORT"] or 5432, s["NAME"]
    owner = f"postgres://{s['USER']}{':' + s['PASSWORD'] if s['PASSWORD'] else ''}@{host}:{port}/{name}"
    app = f"postgres://ledger_app_test:App-Pw-2026@{host}:{port}/{name}"
    yield owner, app, dict(host=host, port=port, dbname=name)
    with connection.cursor() as c:
        c.execute("SELECT 1 FROM pg_roles WHERE rolname = 'ledger_app_test'")
        if c.fetchone():
            c.execute(
                f"REASSIGN OWNED BY ledger_app_test TO {s['USER']}; DROP OWNED BY ledger_app_test; "
                "DROP ROLE ledger_app_test"
            )


def test_the_application_role_can_append_and_read_the_audit_log_but_never_rewrite_it(pg, capsys):
    owner, app, where = pg
    call_command("db_app_role", owner_url=owner, app_url=app)
    assert "审计表" in capsys.readouterr().out
    call_command("db_app_role", owner_url=owner, app_url=app)  # idempotent
    conn = psycopg2.connect(user="ledger_app_test", password="App-Pw-2026", **where)
    conn.autocommit = True
    with conn.cursor() as c:
        c.execute(
            "INSERT INTO departments_auditentry (at, actor_name, action, object_type, object_id, object_repr,"
            " changes, message) VALUES (now(), 'x', 'test', '', '', '', '{}', '') RETURNING id"
        )
        entry = c.fetchone()[0]
        c.execute("SELECT count(*) FROM departments_auditentry")
        assert c.fetchone()[0] >= 1
        for statement in (
            f"UPDATE departments_auditentry SET message = 'rewritten' WHERE id = {entry}",
            f"DELETE FROM departments_auditentry WHERE id = {entry}",
            "TRUNCATE departments_auditentry",
            "ALTER TABLE departments_auditentry DISABLE TRIGGER ALL",
            "DROP TABLE departments_auditentry",
        ):
            with pytest.raises(psycopg2.Error) as e:
                c.execute(statement)
            assert e.value.pgcode in ("42501", "P0001"), statement  # insufficient_privilege (or the trigger)
        # the ledger itself is read and written as usual
        c.execute("UPDATE departments_unit SET short_name = short_name")
        c.execute("CREATE TEMP TABLE t (x int) ON COMMIT DROP")
    conn.close()


def test_the_command_refuses_the_owner_as_application_role(pg):
    from django.core.management.base import CommandError

    owner, _, _ = pg
    with pytest.raises(CommandError) as e:
        call_command("db_app_role", owner_url=owner, app_url=owner)
    assert "不同" in str(e.value)
