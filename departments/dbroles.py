"""The application's PostgreSQL role (三员分立 at the database).

The schema belongs to the owner role that runs the migrations. The web server and the Celery workers connect as
an application role that may read and write the ledger but may only INSERT into and SELECT from the audit table:
it cannot UPDATE, DELETE or TRUNCATE audit rows, and (not owning the table) cannot drop or disable the trigger
that guards them. So even a compromised application server cannot rewrite history.
"""

from __future__ import annotations

import environ
import psycopg2
from psycopg2 import sql

AUDIT_TABLE = "departments_auditentry"


def app_role_sync(*, owner_url: str, app_url: str) -> dict:
    """Create or update the application role named in ``app_url`` (with its password) and give it exactly its
    rights, connected as the owner in ``owner_url``. Idempotent; run after every migrate. Returns a summary."""
    owner = environ.Env.db_url_config(owner_url)
    app = environ.Env.db_url_config(app_url)
    role, password = app["USER"], app.get("PASSWORD") or None
    if not role or role == owner["USER"]:
        raise ValueError(
            "应用账号必须是与属主不同的数据库角色（DATABASE_URL 与 DATABASE_OWNER_URL 的用户名相同）。"
        )
    conn = psycopg2.connect(
        dbname=owner["NAME"],
        user=owner["USER"],
        password=owner.get("PASSWORD") or None,
        host=owner.get("HOST") or None,
        port=owner.get("PORT") or None,
    )
    conn.autocommit = False
    ident = sql.Identifier(role)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            created = cur.fetchone() is None
            if created:
                cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
            cur.execute(
                sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION").format(ident)
            )
            if password:
                cur.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(ident), [password])
            cur.execute(
                sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                    sql.Identifier(owner["NAME"]), ident
                )
            )
            cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
            cur.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(ident))
            cur.execute(
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
                    ident
                )
            )
            cur.execute(
                sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident)
            )
            cur.execute(sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {}").format(ident))
            # Tables a later migration adds get the same rights without waiting for the next run of this command.
            cur.execute(
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
                ).format(ident)
            )
            cur.execute(
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}"
                ).format(ident)
            )
            cur.execute("SELECT to_regclass(%s)", [AUDIT_TABLE])
            if cur.fetchone()[0] is not None:
                cur.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(AUDIT_TABLE), ident))
                cur.execute(
                    sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(sql.Identifier(AUDIT_TABLE), ident)
                )
        conn.commit()
    finally:
        conn.close()
    return {"role": role, "created": created, "audit_table": AUDIT_TABLE}
