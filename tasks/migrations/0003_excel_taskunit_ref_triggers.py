"""TaskUnit's references to tasks and units enforced by triggers instead of FOREIGN KEY constraints.

A FOREIGN KEY checks every inserted row on its own (an index probe per row and key, queued until commit); the
Excel import writes about five TaskUnit rows per task, and those 100,000 probes were a fifth of a 10,000-task
import. On PostgreSQL a statement-level trigger checks all rows of one INSERT (or COPY) in one set-based query
and takes the same FOR KEY SHARE locks on the referenced rows as the foreign-key triggers, so a concurrent delete
of a task or unit still waits for, and then fails against, the rows written here. Deleting (or renumbering) a
task or unit that TaskUnit rows still point to is refused by triggers on those tables (the ORM deletes TaskUnit
rows first, as CASCADE says, and refuses with PROTECT before any SQL runs). SQLite keeps its FOREIGN KEY
clauses (see AlterFieldNotOnSQLite). Other databases are not supported by this project.
"""

import django.db.models.deletion
from django.db import migrations, models

PG_FORWARD = """
CREATE FUNCTION tasks_taskunit_refs_exist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM (SELECT 1 FROM tasks_task
            WHERE id IN (SELECT task_id FROM new_rows) FOR KEY SHARE) AS locked)
       <> (SELECT count(DISTINCT task_id) FROM new_rows) THEN
        RAISE EXCEPTION 'tasks_taskunit: task_id refers to a task that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF (SELECT count(*) FROM (SELECT 1 FROM departments_unit
            WHERE id IN (SELECT unit_id FROM new_rows) FOR KEY SHARE) AS locked)
       <> (SELECT count(DISTINCT unit_id) FROM new_rows) THEN
        RAISE EXCEPTION 'tasks_taskunit: unit_id refers to a unit that does not exist'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tasks_taskunit_refs_insert AFTER INSERT ON tasks_taskunit
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_taskunit_refs_exist();
CREATE TRIGGER tasks_taskunit_refs_update AFTER UPDATE ON tasks_taskunit
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_taskunit_refs_exist();

-- Deleting or renumbering a task or unit that TaskUnit rows point to. Deletes: one check per statement.
-- Renumbering (an UPDATE that changes id, which the application never does): a row trigger whose WHEN clause
-- keeps it from running at all for ordinary updates, so the re-import's UPDATE of 10,000 tasks pays nothing.
CREATE FUNCTION tasks_taskunit_referenced_rows_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'tasks_task' AND EXISTS (
            SELECT 1 FROM old_rows o JOIN tasks_taskunit tu ON tu.task_id = o.id
            WHERE NOT EXISTS (SELECT 1 FROM tasks_task t WHERE t.id = o.id))
       OR TG_TABLE_NAME = 'departments_unit' AND EXISTS (
            SELECT 1 FROM old_rows o JOIN tasks_taskunit tu ON tu.unit_id = o.id
            WHERE NOT EXISTS (SELECT 1 FROM departments_unit u WHERE u.id = o.id)) THEN
        RAISE EXCEPTION '%: row still referenced from tasks_taskunit', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION tasks_taskunit_referenced_id_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'tasks_task' AND EXISTS (SELECT 1 FROM tasks_taskunit WHERE task_id = OLD.id)
       OR TG_TABLE_NAME = 'departments_unit' AND EXISTS (SELECT 1 FROM tasks_taskunit WHERE unit_id = OLD.id) THEN
        RAISE EXCEPTION '%: row still referenced from tasks_taskunit', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tasks_task_taskunit_delete AFTER DELETE ON tasks_task
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_taskunit_referenced_rows_gone();
CREATE TRIGGER tasks_task_taskunit_update AFTER UPDATE OF id ON tasks_task
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION tasks_taskunit_referenced_id_changed();
CREATE TRIGGER departments_unit_taskunit_delete AFTER DELETE ON departments_unit
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_taskunit_referenced_rows_gone();
CREATE TRIGGER departments_unit_taskunit_update AFTER UPDATE OF id ON departments_unit
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION tasks_taskunit_referenced_id_changed();
"""

PG_BACKWARD = """
DROP TRIGGER departments_unit_taskunit_update ON departments_unit;
DROP TRIGGER departments_unit_taskunit_delete ON departments_unit;
DROP TRIGGER tasks_task_taskunit_update ON tasks_task;
DROP TRIGGER tasks_task_taskunit_delete ON tasks_task;
DROP FUNCTION tasks_taskunit_referenced_id_changed();
DROP FUNCTION tasks_taskunit_referenced_rows_gone();
DROP TRIGGER tasks_taskunit_refs_update ON tasks_taskunit;
DROP TRIGGER tasks_taskunit_refs_insert ON tasks_taskunit;
DROP FUNCTION tasks_taskunit_refs_exist();
"""

def _pg(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # no parameters: the % in RAISE is literal

    return run


class AlterFieldNotOnSQLite(migrations.AlterField):
    """On SQLite the table keeps its FOREIGN KEY clauses: dropping them would rebuild the table, which fails
    while other apps' triggers name it, and SQLite triggers vanish with any later rebuild of the tables they sit
    on; SQLite is only for quick local runs, where the speed does not matter."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ('departments', '0003_drop_redundant_indexes'),
        ('tasks', '0002_drop_redundant_indexes'),
    ]

    operations = [
        AlterFieldNotOnSQLite(
            model_name='taskunit',
            name='task',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='task_units', to='tasks.task'),
        ),
        AlterFieldNotOnSQLite(
            model_name='taskunit',
            name='unit',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='task_units', to='departments.unit'),
        ),
        migrations.RunPython(_pg(PG_FORWARD), _pg(PG_BACKWARD)),
    ]
