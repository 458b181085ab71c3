"""The administrator's bulk import and export of units, aliases and accounts (django-import-export in /admin/)."""

import io
import re

import openpyxl
from django.urls import reverse

from departments.models import AuditEntry, Role, Unit, UnitAlias, User
from tests.factories import UnitFactory


def _xlsx(rows) -> io.BytesIO:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    for line in wb.active.iter_rows():
        for cell in line:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # typed as text, as an office would (openpyxl would make it a formula)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "bulk.xlsx"
    return buf


def _preview(client, model: str, rows):
    return client.post(
        reverse(f"admin:departments_{model}_import"),
        {"import_file": _xlsx(rows), "format": "0", "resource": "0"},
    )


def _confirm(client, model: str, preview):
    html = preview.content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    return client.post(
        reverse(f"admin:departments_{model}_process_import"),
        {
            k: fields[k]
            for k in ("import_file_name", "original_file_name", "format", "resource")
            if k in fields
        },
    )


def test_account_import_previews_first_and_never_takes_a_password_from_the_sheet(client_as, admin_user, db):
    unit = UnitFactory(name="市医疗保障局", short_name="市医保局")
    c = client_as(admin_user)
    rows = [
        ["用户名", "姓名", "邮箱", "角色", "所属单位", "启用", "password", "密码"],
        ["ybj2", "王五", "w@example.cn", "填报员", "市医保局", "是", "pbkdf2_sha256$1$x$y", "Secret#123"],
    ]
    preview = _preview(c, "user", rows)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "用户名" in html and "所属单位" in html and "ybj2" in html
    assert not User.objects.filter(username="ybj2").exists()  # the preview writes nothing
    done = _confirm(c, "user", preview)
    assert done.status_code == 302
    user = User.objects.get(username="ybj2")
    assert (user.role, user.unit, user.display_name, user.is_staff) == (Role.REPORTER, unit, "王五", False)
    assert not user.has_usable_password() and not user.check_password("Secret#123")
    entry = AuditEntry.objects.get(action="user_create", object_id=str(user.pk))
    assert (
        entry.actor == admin_user
        and "password" not in entry.changes
        and entry.changes["role"] == [None, "reporter"]
    )


def test_account_import_explains_bad_rows_in_chinese_and_writes_nothing(client_as, admin_user, db):
    UnitFactory(name="市医疗保障局")
    c = client_as(admin_user)
    preview = _preview(
        c, "user",
        [["用户名", "角色", "所属单位"], ["a1", "填报员", "不存在的局"], ["a2", "校长", "市医疗保障局"], ["a3", "填报员", ""]],
    )  # fmt: skip
    html = preview.content.decode()
    assert "找不到单位“不存在的局”" in html and "角色“校长”无效" in html and "填报员必须填写所属单位" in html
    assert 'name="import_file_name"' not in html  # nothing to confirm
    assert not User.objects.filter(username__in=["a1", "a2", "a3"]).exists()


def test_units_and_aliases_import_and_export_with_chinese_columns(client_as, admin_user, db):
    c = client_as(admin_user)
    _confirm(
        c,
        "unit",
        _preview(
            c,
            "unit",
            [
                ["规范名称", "简称", "类型", "排序"],
                ["市残疾人联合会", "市残联", "市直部门", 5],
                ["=鲁山县政府", "", "county", ""],
            ],
        ),
    )
    unit = Unit.objects.get(name="市残疾人联合会")
    assert (unit.short_name, unit.kind, unit.sort_order) == ("市残联", "department", 5)
    assert Unit.objects.get(name="=鲁山县政府").kind == "county"
    _confirm(c, "unitalias", _preview(c, "unitalias", [["别名", "单位"], ["残联", "市残联"]]))
    assert UnitAlias.objects.get(alias="残联").unit == unit
    assert AuditEntry.objects.filter(action="alias_create", object_id=str(unit.pk)).exists()
    form = c.get(reverse("admin:departments_unit_export")).content.decode()
    assert (
        ">简称<" in form.replace("\n", "") or "简称</label>" in form
    )  # the column choices are labelled in Chinese
    assert "Short Name" not in form
    boxes = {name: "on" for name in re.findall(r'name="(unitresource_\w+)"', form)}
    response = c.post(reverse("admin:departments_unit_export"), {"format": "0", "resource": "0", **boxes})
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("规范名称", "简称", "类型")
    formula_like = next(r for r in ws.iter_rows() if r[0].value == "=鲁山县政府")
    assert formula_like[0].data_type == "s"  # the one writer: text stays text
    assert any(r[0] == "市残疾人联合会" and "残联" in (r[6] or "") for r in rows)
    assert AuditEntry.objects.filter(action="export", object_type="admin_unit", actor=admin_user).exists()


def test_an_alias_that_names_another_unit_is_refused(client_as, admin_user, db):
    UnitFactory(name="市医疗保障局", short_name="市医保局")
    UnitFactory(name="市财政局")
    c = client_as(admin_user)
    html = _preview(c, "unitalias", [["别名", "单位"], ["市医保局", "市财政局"]]).content.decode()
    assert "已是单位“市医疗保障局”的名称或别名" in html
    assert not UnitAlias.objects.exists()


def test_a_zip_bomb_named_as_a_workbook_is_refused_before_the_import_reads_it(client_as, admin_user, db):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", b"<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<row/>" * 40_000_000)
    buf.seek(0)
    buf.name = "units.xlsx"
    r = client_as(admin_user).post(
        reverse("admin:departments_unit_import"), {"import_file": buf, "format": "0", "resource": "0"}
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "疑似压缩炸弹" in html and 'name="import_file_name"' not in html
    assert Unit.objects.count() == 0
