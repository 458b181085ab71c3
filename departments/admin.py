"""The system administrator's console (系统管理员): accounts, units and aliases only.

Ledger data, reports and the audit trail are not registered here: the administrator cannot change them, and the
audit trail is read by the auditor on its own page (三员分立). Every change made here is audited.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ImportForm, SelectableFieldsExportForm

from reform_ledger.uploads import OLE_MAGIC, ZIP_MAGIC, UploadRejected, human_size, inspect_ole, inspect_zip

from .models import AuditEntry, Role, Unit, UnitAlias, User
from .permissions import is_system_admin
from .resources import ExcelFormat, UnitAliasResource, UnitResource, UserResource
from .services import audit_log, export_audit


class SystemAdminOnly:
    """Only the system administrator sees and changes these models (never the auditor, even if marked staff)."""

    def has_module_permission(self, request):
        return is_system_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_system_admin(request.user)

    def has_add_permission(self, request, *args):
        return is_system_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return is_system_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_system_admin(request.user)


class ChineseFieldsExportForm(SelectableFieldsExportForm):
    """The export's column choices labelled with their Chinese headings only (not "Short Name (简称)")."""

    def _get_field_label(self, resource, field_name: str) -> str:
        field = resource.fields.get(field_name)
        return field.column_name if field else field_name


class InspectedImportForm(ImportForm):
    """The upload passes the project's one inspection (reform_ledger/uploads.py: size, zip bomb, XML entities,
    encryption) before django-import-export's reader opens it."""

    def clean_import_file(self):
        f = self.cleaned_data["import_file"]
        if f.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"文件过大（{human_size(f.size)}），上限为 {human_size(settings.IMPORT_MAX_BYTES)}。"
            )
        head = f.read(8)
        f.seek(0)
        try:
            if head.startswith(ZIP_MAGIC):
                inspect_zip(f, kind="xlsx", name="上传的表格")
            elif head.startswith(OLE_MAGIC):
                inspect_ole(f.read(), name="上传的表格")
                f.seek(0)
        except UploadRejected as e:
            raise forms.ValidationError(e.message) from None
        return f


class BulkExcel(ImportExportMixin):
    """The administrator's bulk import (upload, preview, confirm) and export through django-import-export; see
    departments/resources.py. Exports are audited like every other export."""

    import_formats = [ExcelFormat, base_formats.CSV]
    import_form_class = InspectedImportForm
    export_formats = [ExcelFormat]
    export_form_class = ChineseFieldsExportForm

    def has_import_permission(self, request):
        return is_system_admin(request.user)

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "request": request}

    def has_export_permission(self, request):
        return is_system_admin(request.user)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        data = super().get_export_data(file_format, request, queryset, **kwargs)
        export_audit(
            request=request, export=f"admin_{self.model._meta.model_name}", title=f"{self.model._meta.verbose_name}（管理后台）",
            filters={k: v for k, v in request.GET.items()}, rows=queryset.count(),
        )  # fmt: skip
        return data


def _changes(form) -> dict:
    out = {}
    for name in form.changed_data:
        if name in (
            "password",
            "password1",
            "password2",
            "webhook_secret",
        ):  # secrets never enter the audit log
            out[name] = ["***", "***"]
            continue
        old = form.initial.get(name)
        new = form.cleaned_data.get(name)
        out[name] = [None if old is None else str(old), None if new is None else str(new)]
    return out


class AuditedAdmin(SystemAdminOnly, admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        name = obj._meta.model_name
        audit_log(
            request=request,
            action=f"{name}_update" if change else f"{name}_create",
            obj=obj,
            changes=_changes(form),
        )


class UnitAliasInline(admin.TabularInline):
    model = UnitAlias
    extra = 1
    fields = ["alias"]

    def has_view_permission(self, request, obj=None):
        return is_system_admin(request.user)

    has_add_permission = has_change_permission = has_delete_permission = lambda self, request, obj=None: (
        is_system_admin(request.user)
    )


@admin.register(Unit)
class UnitAdmin(BulkExcel, AuditedAdmin):
    """Deleting a unit is a soft delete (its tasks, reports and history stay); “恢复” undoes it."""

    resource_classes = [UnitResource]
    list_display = ["name", "short_name", "kind", "email", "is_active", "deleted_at"]
    list_filter = ["kind", "is_active", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "short_name", "aliases__alias"]
    readonly_fields = ["deleted_at"]
    inlines = [UnitAliasInline]
    actions = ["restore_units"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        from django.db import models

        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"  # webhook addresses; Django 6 default, stated now
        if db_field.name == "webhook_secret":
            from django import forms

            kwargs["widget"] = forms.PasswordInput(render_value=True, attrs={"autocomplete": "off"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            audit_log(
                request=request,
                action="alias_delete",
                obj=form.instance,
                changes={"alias": [obj.alias, None]},
            )
            obj.delete()
        for obj in instances:
            created = obj.pk is None
            obj.save()
            if created:
                audit_log(
                    request=request,
                    action="alias_add",
                    obj=form.instance,
                    changes={"alias": [None, obj.alias]},
                )
        formset.save_m2m()

    def get_deleted_objects(self, objs, request):
        # Nothing is really deleted, so nothing is "protected": list what will be hidden.
        return [f"{u}（停用并标记删除，可恢复）" for u in objs], {"单位": len(objs)}, set(), []

    def delete_model(self, request, obj):
        from .services import unit_soft_delete

        unit_soft_delete(unit=obj, request=request)

    def delete_queryset(self, request, queryset):
        from .services import unit_soft_delete

        for unit in queryset:
            unit_soft_delete(unit=unit, request=request)

    @admin.action(description="恢复所选的已删除单位")
    def restore_units(self, request, queryset):
        from .services import unit_restore

        restored = 0
        for unit in queryset.filter(deleted_at__isnull=False):
            unit_restore(unit=unit, request=request)
            restored += 1
        self.message_user(request, f"已恢复 {restored} 个单位。", messages.SUCCESS)


@admin.register(UnitAlias)
class UnitAliasAdmin(BulkExcel, SystemAdminOnly, admin.ModelAdmin):
    """Aliases one by one are edited on their unit's page; here they are listed, imported and exported in bulk."""

    resource_classes = [UnitAliasResource]
    list_display = ["alias", "unit"]
    search_fields = ["alias", "unit__name"]
    list_select_related = ["unit"]

    def has_add_permission(self, request, *args):
        return False  # added on the unit's page, where the alias rules are checked

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # removed on the unit's page, where the removal is audited


@admin.register(User)
class UserAdmin(BulkExcel, SystemAdminOnly, BaseUserAdmin):
    resource_classes = [UserResource]
    list_display = ["username", "display_name", "role", "unit", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    # No superuser flag, groups or object permissions: what an account may do follows from its role alone.
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("个人信息", {"fields": ("display_name", "email")}),
        ("医改台账", {"fields": ("role", "unit", "is_active")}),
        ("时间", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        ("医改台账", {"fields": ("role", "unit", "display_name")}),
    )
    readonly_fields = ["last_login", "date_joined"]

    def save_model(self, request, obj, form, change):
        obj.is_staff = obj.role == Role.ADMIN  # only the administrator works in this console
        if obj.role == Role.AUDITOR:
            obj.is_superuser = False
        super().save_model(request, obj, form, change)
        audit_log(
            request=request,
            action="user_update" if change else "user_create",
            obj=obj,
            changes=_changes(form),
        )

    def has_delete_permission(self, request, obj=None):
        # An account that has acted keeps its audit trail: disable it instead of deleting it.
        if obj is not None and AuditEntry.objects.filter(actor=obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        audit_log(request=request, action="user_delete", obj=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            if AuditEntry.objects.filter(actor=obj).exists():
                self.message_user(request, f"账号 {obj} 有操作记录，不能删除，请改为停用。", messages.ERROR)
                continue
            self.delete_model(request, obj)


# Roles replace groups and per-model permissions, and tokens are issued through the API only: the console
# shows nothing but accounts and units.
for _model_path in ("django.contrib.auth.models.Group",):
    _module, _name = _model_path.rsplit(".", 1)
    try:
        import importlib

        admin.site.unregister(getattr(importlib.import_module(_module), _name))
    except admin.sites.NotRegistered:
        pass
