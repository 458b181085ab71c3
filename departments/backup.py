"""Consistent backup and restore: the database (pg_dump on PostgreSQL, JSON on SQLite) plus every uploaded file
under MEDIA_ROOT, described by a manifest with SHA-256 checksums and row counts.

Consistency: on PostgreSQL the row counts and pg_dump read the same exported snapshot (REPEATABLE READ), so the
manifest describes exactly the dump. Uploaded files are copied after the snapshot: attachments are only ever
added, so every file the dump refers to is present; a file uploaded during the backup is merely extra.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from .services import ApplicationError

MANIFEST = "manifest.json"
DB_DUMP = {"postgresql": "database.dump", "sqlite": "database.json"}
MEDIA_DIR = "media"
# Rebuilt by `migrate` on the target (JSON format); not user data, so not compared.
NOT_COUNTED = {"contenttypes.contenttype", "auth.permission"}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def derived_tables() -> set[str]:
    """Labels of the models marked DERIVED: revision counters and caches that database triggers and the roll-ups
    rebuild from the ledger. Not user data: a SQLite backup leaves them out, since loading the tasks fires the
    triggers that write them (loading the backup's own rows after that collided with the triggers' rows)."""
    return {m._meta.label_lower for m in apps.get_models() if getattr(m, "DERIVED", False)}


def row_counts() -> dict[str, int]:
    counts = {}
    skipped = NOT_COUNTED | derived_tables()
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        label = model._meta.label_lower
        if label not in skipped:
            counts[label] = model._base_manager.using(connection.alias).count()
    return dict(sorted(counts.items()))


def _pg_env_and_args() -> tuple[dict, list[str]]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    return env, args + ["--dbname", str(db["NAME"])]


def _media_files(root: Path):
    if root.exists():
        for path in sorted(root.rglob("*")):
            if path.is_file():
                yield path


def backup_create(*, out: Path, now=None) -> dict:
    """Write a backup into `out` (created; must be empty) and return its manifest."""
    from django.utils import timezone

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ApplicationError(f"备份目录 {out} 不是空的，请指定一个新目录。", field="out")
    out.mkdir(parents=True, exist_ok=True)
    vendor = connection.vendor
    if vendor not in DB_DUMP:
        raise ApplicationError(f"不支持的数据库类型：{vendor}。", field="database")
    dump = out / DB_DUMP[vendor]
    if connection.in_atomic_block:
        # pg_dump runs in its own session: it could not see rows this transaction has not committed.
        raise ApplicationError("备份必须在事务之外运行。", field="database")

    with transaction.atomic():
        with connection.cursor() as cursor:
            if vendor == "postgresql":
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
        counts = row_counts()
        if vendor == "postgresql":
            env, args = _pg_env_and_args()
            result = subprocess.run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    *args,
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise ApplicationError(f"pg_dump 失败：{result.stderr.strip()}", field="database")
        else:  # SQLite: one read transaction, so the JSON is one consistent state
            with open(dump, "w", encoding="utf-8") as fh:
                call_command(
                    "dumpdata",
                    natural_foreign=True,
                    natural_primary=True,
                    exclude=sorted(NOT_COUNTED | derived_tables()),
                    indent=None,
                    stdout=fh,
                )

    media_root = Path(settings.MEDIA_ROOT)
    files = {}
    for src in _media_files(media_root):
        rel = src.relative_to(media_root).as_posix()
        dest = out / MEDIA_DIR / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        files[rel] = sha256(dest)

    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder(connection).applied_migrations()
    manifest = {
        "format": 1,
        "created_at": (now or timezone.now()).isoformat(),
        "database_vendor": vendor,
        "database_file": dump.name,
        "database_sha256": sha256(dump),
        "row_counts": counts,
        "media_files": files,
        "migrations": sorted(f"{app}.{name}" for app, name in applied),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def backup_verify(*, source: Path) -> dict:
    """Read the manifest and check every checksum; raise on the first mismatch."""
    source = Path(source)
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ApplicationError(f"{source} 里没有 {MANIFEST}，不是本系统的备份。", field="from") from None
    dump = source / manifest["database_file"]
    if not dump.exists() or sha256(dump) != manifest["database_sha256"]:
        raise ApplicationError(f"数据库备份文件 {dump.name} 缺失或校验和不符，备份已损坏。", field="from")
    for rel, digest in manifest["media_files"].items():
        path = source / MEDIA_DIR / rel
        if not path.exists() or sha256(path) != digest:
            raise ApplicationError(f"上传文件 {rel} 缺失或校验和不符，备份已损坏。", field="from")
    return manifest


def _installation_is_empty() -> tuple[bool, str]:
    tables = connection.introspection.table_names()
    if not tables:
        return True, ""
    if "django_migrations" not in tables:
        return False, "数据库里已有不属于本系统的表"
    counts = {k: v for k, v in row_counts().items() if v} if "departments_user" in tables else {}
    if counts:
        return False, "已有数据：" + "、".join(f"{k} {v} 行" for k, v in list(counts.items())[:5])
    return True, ""


def _without_derived(dump: Path, tmp: Path) -> Path:
    """The JSON dump without the rows of derived tables (a backup written before they were left out has them)."""
    derived = derived_tables()
    rows = json.loads(dump.read_text(encoding="utf-8"))
    kept = [row for row in rows if row.get("model") not in derived]
    if len(kept) == len(rows):
        return dump
    out = tmp / dump.name
    out.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    return out


def backup_restore(*, source: Path, stdout=None) -> dict:
    """Restore a verified backup onto an empty installation, bring the schema up to date and compare."""
    manifest = backup_verify(source=source)
    vendor = connection.vendor
    if manifest["database_vendor"] != vendor:
        raise ApplicationError(
            f"备份来自 {manifest['database_vendor']} 数据库，不能恢复到 {vendor} 数据库。", field="from"
        )
    empty, why = _installation_is_empty()
    if not empty:
        raise ApplicationError(f"只能恢复到空的新安装上（{why}）。请新建空数据库后再恢复。", field="database")
    media_root = Path(settings.MEDIA_ROOT)
    if any(_media_files(media_root)):
        raise ApplicationError(f"上传文件目录 {media_root} 不是空的，只能恢复到空的新安装上。", field="media")

    dump = Path(source) / manifest["database_file"]
    if vendor == "postgresql":
        if connection.introspection.table_names():  # a migrated but empty schema: replace it wholesale
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        connection.close()
        env, args = _pg_env_and_args()
        result = subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                *args,
                str(dump),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ApplicationError(f"pg_restore 失败：{result.stderr.strip()}", field="database")
        call_command("migrate", interactive=False, verbosity=0)  # a backup from older code is upgraded
    else:
        call_command("migrate", interactive=False, verbosity=0)
        with tempfile.TemporaryDirectory() as tmp, transaction.atomic():
            call_command("loaddata", str(_without_derived(dump, Path(tmp))), verbosity=0)

    for rel in manifest["media_files"]:
        dest = media_root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(source) / MEDIA_DIR / rel, dest)

    restored_counts = row_counts()
    derived = derived_tables()  # a backup written before they were left out still counts them
    wrong = {
        k: (v, restored_counts.get(k))
        for k, v in manifest["row_counts"].items()
        if k not in derived and restored_counts.get(k) != v
    }
    if wrong:
        raise ApplicationError(f"恢复后行数与备份不一致：{wrong}", field="database")
    bad_files = [rel for rel, digest in manifest["media_files"].items() if sha256(media_root / rel) != digest]
    if bad_files:
        raise ApplicationError(f"恢复后文件校验和不一致：{bad_files[:5]}", field="media")
    return manifest


def default_backup_dir() -> Path:
    return Path(settings.BASE_DIR) / "backups" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
