"""Backup and restore round trip: a backup restored onto an empty installation has the same rows and files."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from departments.backup import MANIFEST, backup_create, backup_verify, row_counts, sha256
from departments.services import audit_log
from reports.models import Attachment
from tests.factories import ReportFactory, TaskFactory, UnitFactory, UserFactory

BASE = Path(settings.BASE_DIR)


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def _ledger_with_files():
    unit = UnitFactory(name="市医疗保障局")
    user = UserFactory(username="rep_a", unit=unit)
    for i in range(3):
        task = TaskFactory(lead=[unit])
        report = ReportFactory(task=task, unit=unit, text=f"进展{i}")
        a = Attachment(
            report=report,
            original_name=f"附件{i}.pdf",
            content_type="application/pdf",
            size=5,
            uploaded_by=user,
        )
        a.file.save(f"f{i}", ContentFile(f"%PDF-{i}".encode() * (i + 1)), save=True)
        audit_log(actor=user, action="report_update", obj=report, changes={"text": ["", f"进展{i}"]})


def _run(env_overrides, *args):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="reform_ledger.settings.test", **env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE, env=env, capture_output=True, text=True
    )


def _counts_in(env_overrides) -> dict:
    result = _run(
        env_overrides,
        "shell",
        "-c",
        "import json; from departments.backup import row_counts; print(json.dumps(row_counts()))",
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _media_checksums(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): sha256(p) for p in root.rglob("*") if p.is_file()}


def _round_trip(tmp_path, media_root, target_env):
    _ledger_with_files()
    before_counts, before_files = row_counts(), _media_checksums(media_root)
    assert len(before_files) == 3 and before_counts["reports.report"] == 3

    out = tmp_path / "backup"
    call_command("backup", "--out", str(out))
    manifest = backup_verify(source=out)
    assert manifest["row_counts"] == before_counts and manifest["media_files"] == before_files

    new_media = tmp_path / "restored-media"
    env = dict(target_env, MEDIA_ROOT=str(new_media))
    result = _run(env, "restore", "--from", str(out))
    assert result.returncode == 0, result.stderr
    assert "恢复完成" in result.stdout
    assert _counts_in(env) == before_counts
    assert _media_checksums(new_media) == before_files

    again = _run(env, "restore", "--from", str(out))  # the installation is no longer empty
    assert again.returncode != 0 and "空的新安装" in again.stderr


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True)
def test_sqlite_backup_restores_onto_an_empty_installation_with_equal_counts_and_files(tmp_path, media_root):
    if connection.vendor != "sqlite":
        pytest.skip("JSON 备份格式只用于 SQLite")
    _round_trip(tmp_path, media_root, {"DATABASE_URL": f"sqlite:///{tmp_path / 'restored.sqlite3'}"})


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True)
def test_a_sqlite_backup_holding_revision_counters_still_restores(tmp_path, media_root):
    """Backups written before the derived tables (revision counters, caches) were left out hold their rows; loading
    the tasks fires the triggers that write those tables, so the backup's own rows are skipped, not collided with."""
    if connection.vendor != "sqlite":
        pytest.skip("JSON 备份格式只用于 SQLite")
    _ledger_with_files()
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out))
    dump = out / "database.json"
    rows = json.loads(dump.read_text(encoding="utf-8"))
    assert not any(r["model"].startswith("reports.") and "revision" in r["model"] for r in rows)
    rows += [
        {"model": "reports.planrevision", "pk": 9999, "fields": {"document_id": 1, "unit_id": 0, "rev": 5}},
        {"model": "reports.unitrevision", "pk": 0, "fields": {"rev": 7, "task_rev": 3}},
    ]
    dump.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest["database_sha256"] = sha256(dump)
    manifest["row_counts"]["reports.planrevision"] = 1  # as an older backup counted them
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'restored.sqlite3'}", "MEDIA_ROOT": str(tmp_path / "m2")}
    result = _run(env, "restore", "--from", str(out))
    assert result.returncode == 0, result.stderr
    assert _counts_in(env)["reports.report"] == 3


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_postgresql_backup_restores_onto_an_empty_database_with_equal_counts_and_files(tmp_path, media_root):
    if connection.vendor != "postgresql":
        pytest.skip("需要 PostgreSQL（设置 DATABASE_URL）")
    from tests.integration.services import database_url_for

    name = f"restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        db = dict(connection.settings_dict, NAME=name)
        _round_trip(tmp_path, media_root, {"DATABASE_URL": database_url_for(db)})
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_damaged_backup_is_refused_before_anything_is_written(tmp_path, media_root, transactional_db):
    _ledger_with_files()
    out = tmp_path / "backup"
    backup_create(out=out)
    victim = next((out / "media").rglob("*"), None)
    while victim is not None and victim.is_dir():
        victim = next(victim.iterdir())
    victim.write_bytes(b"tampered")
    with pytest.raises(CommandError, match="校验和不符"):
        call_command("restore", "--from", str(out))


def test_backup_refuses_a_directory_that_is_not_empty(tmp_path, db):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(CommandError, match="不是空的"):
        call_command("backup", "--out", str(tmp_path))


def test_manifest_lists_checksums_and_counts(tmp_path, media_root, transactional_db):
    _ledger_with_files()
    backup_create(out=tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["database_vendor"] == connection.vendor
    assert len(manifest["media_files"]) == 3 and all(len(d) == 64 for d in manifest["media_files"].values())
    assert manifest["row_counts"]["departments.auditentry"] >= 3
