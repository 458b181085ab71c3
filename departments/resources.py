"""The administrator's bulk import and export of units, aliases and accounts in /admin/ (django-import-export).

django-import-export brings the upload, the preview (new / changed / unchanged / errors per row) and the confirm
step; these resources say which columns exist, with Chinese headings, and how a cell becomes a value. Files are
written by the product's one xlsx writer (reform_ledger.spreadsheets: text stays text, never a formula).

Accounts: a sheet never carries passwords. The password, staff and superuser columns do not exist in the
resource, so a "password" column in an uploaded sheet is ignored; an account created by an import gets an
unusable password and cannot sign in until the administrator sets one in the console (which is audited). Every
row written is audited like a change in the console (who, when, from where, old and new values).
"""

from __future__ import annotations

import unicodedata

from import_export import fields, resources, widgets
from import_export.formats import base_formats

from reform_ledger.spreadsheets import DATETIME, Column, Sheet, render_xlsx

from .models import Role, Unit, UnitAlias, UnitKind, User, normalize_unit_name
from .selectors import unit_resolve
from .services import audit_log

# --------------------------------------------------------------------------------------------------- widgets


class ChoiceWidget(widgets.Widget):
    """A choice written as its Chinese label (医改办工作人员) on export; the label or the code on import."""

    def __init__(self, choices, what: str):
        super().__init__()
        self.choices = choices
        self.what = what

    def clean(self, value, row=None, **kwargs):
        text = unicodedata.normalize("NFKC", str(value or "")).strip()
        if not text:
            return None
        for code, label in self.choices.choices:
            if text in (code, label):
                return code
        allowed = "、".join(label for _code, label in self.choices.choices)
        raise ValueError(f"{self.what}“{text}”无效，可选：{allowed}。")

    def render(self, value, obj=None, **kwargs):
        return dict(self.choices.choices).get(value, value or "")


class YesNoWidget(widgets.Widget):
    TRUE, FALSE = ("是", "启用", "true", "1", "y", "yes"), ("否", "停用", "false", "0", "n", "no")

    def clean(self, value, row=None, **kwargs):
        if value is None or value == "":
            return True
        if isinstance(value, bool):
            return value
        text = unicodedata.normalize("NFKC", str(value)).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValueError(f"“{value}”应填“是”或“否”。")

    def render(self, value, obj=None, **kwargs):
        return "是" if value else "否"


class UnitWidget(widgets.Widget):
    """A unit by its canonical name, short name or any alias (市医保局 = 市医疗保障局)."""

    def __init__(self, *, required: bool = False):
        super().__init__()
        self.required = required

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        if not text:
            if self.required:
                raise ValueError("单位不能为空。")
            return None
        unit = unit_resolve(name=text)
        if unit is None:
            raise ValueError(f"找不到单位“{text}”（可写规范名称、简称或别名；新单位请先在“单位”中导入）。")
        return unit

    def render(self, value, obj=None, **kwargs):
        return value.name if value else ""


class TextWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        return unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""


# --------------------------------------------------------------------------------------------------- format


class ExcelFormat(base_formats.XLSX):
    """.xlsx through the product's one writer (one header row, so the file imports back as it is)."""

    def export_data(self, dataset, **kwargs):
        columns = [Column(str(h), max(10, min(40, len(str(h)) * 2 + 4))) for h in dataset.headers]
        for i, header in enumerate(dataset.headers):
            if header == "最后登录":
                columns[i] = Column(header, 18, kind=DATETIME)
        sheet = Sheet(name=dataset.title or "导出", columns=columns, rows=[list(r) for r in dataset])
        return render_xlsx([sheet])


# --------------------------------------------------------------------------------------------------- audit


class AuditedResource(resources.ModelResource):
    """Writes an audit record for every row an import saves (none for the preview's dry run)."""

    audit_name = ""

    def __init__(self, request=None, **kwargs):
        super().__init__(**kwargs)
        self.request = request  # for the audit record's source address

    def before_save_instance(self, instance, row, **kwargs):
        before = type(instance).objects.filter(pk=instance.pk).first() if instance.pk else None
        instance._audit_before = (
            {f.attribute: self._audit_value(before, f) for f in self._audited_fields()} if before else None
        )

    def after_save_instance(self, instance, row, **kwargs):
        if kwargs.get("dry_run"):
            return
        before = getattr(instance, "_audit_before", None)
        after = {f.attribute: self._audit_value(instance, f) for f in self._audited_fields()}
        changes = {
            k: [None if before is None else before.get(k), v]
            for k, v in after.items()
            if before is None or before.get(k) != v
        }
        if before is not None and not changes:
            return
        action = f"{self.audit_name}_{'update' if before is not None else 'create'}"
        audit_log(
            actor=kwargs.get("user"),
            action=action,
            obj=self._audit_object(instance),
            changes=changes,
            message="管理后台批量导入",
        )

    def _audited_fields(self):
        return [f for f in self.fields.values() if f.attribute and not f.readonly]

    @staticmethod
    def _audit_value(obj, field):
        value = field.get_value(obj)
        return None if value is None else str(value.pk if hasattr(value, "pk") else value)

    def _audit_object(self, instance):
        return instance


# --------------------------------------------------------------------------------------------------- resources


class UnitResource(AuditedResource):
    audit_name = "unit"
    name = fields.Field(attribute="name", column_name="规范名称", widget=TextWidget())
    short_name = fields.Field(attribute="short_name", column_name="简称", widget=TextWidget())
    kind = fields.Field(attribute="kind", column_name="类型", widget=ChoiceWidget(UnitKind, "类型"))
    email = fields.Field(attribute="email", column_name="联系邮箱", widget=TextWidget())
    sort_order = fields.Field(
        attribute="sort_order", column_name="排序", widget=widgets.IntegerWidget(), default=0
    )
    is_active = fields.Field(attribute="is_active", column_name="启用", widget=YesNoWidget())
    aliases = fields.Field(column_name="别名（只导出）", readonly=True)

    class Meta:
        model = Unit
        import_id_fields = ("name",)
        fields = ("name", "short_name", "kind", "email", "sort_order", "is_active", "aliases")
        export_order = fields
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def get_queryset(self):
        return Unit.objects.filter(deleted_at__isnull=True).prefetch_related("aliases")

    def dehydrate_aliases(self, unit):
        return "、".join(a.alias for a in unit.aliases.all())

    def before_save_instance(self, instance, row, **kwargs):
        if not instance.kind:
            instance.kind = UnitKind.DEPARTMENT
        super().before_save_instance(instance, row, **kwargs)


class UnitAliasResource(AuditedResource):
    audit_name = "alias"
    alias = fields.Field(attribute="alias", column_name="别名", widget=TextWidget())
    unit = fields.Field(attribute="unit", column_name="单位", widget=UnitWidget(required=True))

    class Meta:
        model = UnitAlias
        import_id_fields = ("alias",)
        fields = ("alias", "unit")
        export_order = fields
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def get_queryset(self):
        return UnitAlias.objects.select_related("unit")

    def get_instance(self, instance_loader, row):
        # An alias is one spelling, whatever its width or spaces: found by its normalized form.
        alias = str(row.get("别名") or "").strip()
        return UnitAlias.objects.filter(normalized=normalize_unit_name(alias)).first() if alias else None

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        existing = unit_resolve(name=instance.alias) if instance.alias else None
        if existing is not None and instance.unit_id and existing.pk != instance.unit_id:
            # The spelling already names another unit (its name, short name or one of its aliases).
            if not (instance.pk and UnitAlias.objects.filter(pk=instance.pk, unit=existing).exists()):
                errors["alias"] = [
                    f"别名“{instance.alias}”已是单位“{existing.name}”的名称或别名，不能再指向“{instance.unit.name}”。"
                ]
        super().validate_instance(instance, errors, validate_unique=validate_unique)

    def _audit_object(self, instance):
        return instance.unit


class UserResource(AuditedResource):
    audit_name = "user"
    username = fields.Field(attribute="username", column_name="用户名", widget=TextWidget())
    display_name = fields.Field(attribute="display_name", column_name="姓名", widget=TextWidget())
    email = fields.Field(attribute="email", column_name="邮箱", widget=TextWidget())
    role = fields.Field(attribute="role", column_name="角色", widget=ChoiceWidget(Role, "角色"))
    unit = fields.Field(attribute="unit", column_name="所属单位", widget=UnitWidget())
    is_active = fields.Field(attribute="is_active", column_name="启用", widget=YesNoWidget())
    last_login = fields.Field(attribute="last_login", column_name="最后登录", readonly=True)

    class Meta:
        model = User
        import_id_fields = ("username",)
        # A whitelist: password, is_staff, is_superuser, groups and permissions can never come from a sheet.
        fields = ("username", "display_name", "email", "role", "unit", "is_active", "last_login")
        export_order = fields
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def get_queryset(self):
        return User.objects.select_related("unit")

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        if not instance.role and "role" not in errors:
            errors["role"] = ["角色不能为空。"]
        if instance.role == Role.REPORTER and instance.unit_id is None and "unit" not in errors:
            errors["unit"] = ["填报员必须填写所属单位。"]
        if instance.pk is None:
            instance.set_unusable_password()  # signs in only after the administrator sets a password
        # As the console does: only the administrator works in /admin/; an auditor is never staff (三员分立).
        instance.is_staff = instance.role == Role.ADMIN
        if instance.role != Role.ADMIN:
            instance.is_superuser = False
        super().validate_instance(instance, errors, validate_unique=validate_unique)

    def dehydrate_last_login(self, user):
        return user.last_login
