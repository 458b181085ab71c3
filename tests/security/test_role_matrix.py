"""The role matrix: every URL pattern and API endpoint, called as each role, answers exactly what the policy
table says, and the rights table of departments.permissions is the one pinned here.

A URL pattern that is not in POLICY makes the test fail: whoever adds a page or endpoint adds its row here.
A changed rule fails too: RULES below is a copy of departments.permissions.RULES, and the answers follow from it.

Each row is keyed by the URL name, optionally followed by a method and a label (`"api-tasks POST"`,
`"api-report GET draft"`) when one pattern needs several rows (writes; other objects).
Each row: (method, kwargs, expected answers for the roles in ROLES order):
  anonymous, reporter of unit A, reporter of unit B, county reporter, leader, secretariat, administrator, auditor.
kwargs: space-separated `name=@object` (that object's pk, see role_matrix_world.py) or `name=literal`;
`?name=@object` adds a query parameter.
Answers: a status code, `L` for a redirect to a login page, `R` for any other redirect.
The rules behind the answers: anonymous browser -> L, anonymous API -> 401/403; an object one may not see -> 404;
an action one may not take on an object one sees -> 403; the auditor reads the audit log and nothing else;
the administrator manages accounts and units (admin console), reads the ledger and the figures, never a report's
content (no report, attachment, 汇总表) and changes no ledger data; a draft is its unit's own until submitted
(the secretariat, leaders and the lead unit get 404 on it).
POSTs carry no data: a 400 means "allowed, but the (empty) input was refused", which is what we want to see.
Every request runs in a savepoint that is rolled back, so one role's action does not change the next one's answer.

To see the actual answers of every pattern (e.g. after adding URLs): ROLE_MATRIX_PRINT=1 pytest tests/security/test_role_matrix.py -s
"""

import copy
import os
import re
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from departments import permissions
from tests.security.role_matrix_world import ROLES, build_world

# A copy of departments.permissions.RULES: the answers below were written for exactly these rights.
S, R, L, A, AU = "secretariat", "reporter", "leader", "admin", "auditor"
RULES = {
    "ledger.read": {S, L, A, R},
    "ledger.read_all": {S, L, A},
    "ledger.edit": {S},
    "figures.read": {S, L, A, R},
    "figures.read_all": {S, L, A},
    "reports.read_all": {S, L},
    "reports.read_led": {R},
    "reports.write": {R},
    "reports.review": {S},
    "periods.manage": {S},
    "reminders.manage": {S},
    "supervision.read": {S, L, R},
    "notices.issue": {S, L},
    "notices.answer": {R},
    "extensions.request": {R},
    "supervision.decide": {S},
    "bulletins.read": {S, L, R},
    "bulletins.write": {S},
    "accounts.manage": {A},
    "audit.read": {AU},
}
CONFINED = {
    AU: {
        "home",
        "healthz",
        "departments:login",
        "departments:logout",
        "api-token",
        "api-schema",
        "api-docs",
        "admin:login",
        "admin:logout",
        "departments:audit-log",
        "departments:audit-export",
        "departments:password-change",
        "api-logout",
        "api-tokens",
        "api-token-detail",
    }
}

POLICY: dict[str, tuple[str, str, str]] = {
    # name: (method, kwargs, "anon rep_a rep_b county leader sec admin auditor")  # route
    "home": ("GET", "", "L R R R R R R R"),  #
    "healthz": ("GET", "path=/healthz", "200 200 200 200 200 200 200 200"),  # healthz
    "api-token": ("POST", "", "400 400 400 400 400 400 400 400"),  # api/auth/token/
    "api-logout": ("POST", "", "403 204 204 204 204 204 204 204"),  # api/auth/logout/
    "api-tokens": ("GET", "", "403 200 200 200 200 200 200 200"),  # api/auth/tokens/ (one's own)
    "api-token-detail": (
        "GET",
        "pk=1",
        "403 405 405 405 405 405 405 405",
    ),  # api/auth/tokens/<int:pk>/ (DELETE only)
    "api-units": ("GET", "", "403 200 200 200 200 200 200 403"),  # api/units/
    "api-documents": ("GET", "", "403 200 200 200 200 200 200 403"),  # api/documents/
    "api-tasks": ("GET", "", "403 200 200 200 200 200 200 403"),  # api/tasks/
    "api-tasks POST": ("POST", "", "403 403 403 403 403 400 403 403"),
    "api-task": ("GET", "pk=@task", "403 200 404 200 200 200 200 404"),  # api/tasks/<int:pk>/
    "api-task PATCH": ("PATCH", "pk=@task", "403 403 404 403 403 400 403 404"),
    "api-periods": ("GET", "", "403 200 200 200 200 200 200 403"),  # api/periods/
    "api-periods POST": ("POST", "", "403 403 403 403 403 400 403 403"),
    "api-period": ("GET", "pk=@period", "403 200 200 200 200 200 200 404"),  # api/periods/<int:pk>/
    "api-period PATCH": ("PATCH", "pk=@period", "403 403 403 403 403 200 403 404"),
    "api-reports": ("GET", "", "403 200 200 200 200 200 200 403"),  # api/reports/
    "api-reports POST": ("POST", "", "403 400 400 400 403 403 403 403"),
    "api-report": ("GET", "pk=@report", "403 200 404 404 200 200 404 404"),  # api/reports/<int:pk>/
    "api-report PATCH": ("PATCH", "pk=@report", "403 400 404 404 403 403 404 404"),
    "api-report GET draft": ("GET", "pk=@draft", "403 404 404 200 404 404 404 404"),
    "api-report PATCH draft": ("PATCH", "pk=@draft", "403 404 404 400 404 404 404 404"),
    "api-report-submit draft": ("POST", "pk=@draft", "403 404 404 200 404 404 404 404"),
    "api-report GET led": ("GET", "pk=@county_report", "403 200 404 200 200 200 404 404"),
    "api-report-accept led": ("POST", "pk=@county_report", "403 403 404 403 403 200 404 404"),
    "api-report-submit": (
        "POST",
        "pk=@report",
        "403 400 404 404 403 403 404 404",
    ),  # api/reports/<int:pk>/submit/
    "api-report-return": (
        "POST",
        "pk=@report",
        "403 403 404 404 403 400 404 404",
    ),  # api/reports/<int:pk>/return/
    "api-report-accept": (
        "POST",
        "pk=@report",
        "403 403 404 404 403 200 404 404",
    ),  # api/reports/<int:pk>/accept/
    "api-report-reopen": (
        "POST",
        "pk=@report",
        "403 403 404 404 403 400 404 404",
    ),  # api/reports/<int:pk>/reopen/
    "api-report-attachments": (
        "POST",
        "pk=@report",
        "403 400 404 404 403 403 404 404",
    ),  # api/reports/<int:pk>/attachments/
    "notification-list": ("GET", "", "403 200 200 200 200 200 200 403"),  # api/notifications/
    "notification-read": (
        "POST",
        "pk=@notification",
        "403 200 404 404 404 404 404 404",
    ),  # api/notifications/<int:pk>/read/
    "api-rollup-departments": ("GET", "", "403 200 200 200 200 200 200 403"),  # api/rollups/departments/
    "api-rollup-counties": ("GET", "", "403 200 200 200 200 200 200 403"),  # api/rollups/counties/
    "api-dashboard-overdue": ("GET", "", "403 200 200 200 200 200 200 403"),  # api/dashboard/overdue/
    "api-schema": ("GET", "", "403 200 200 200 200 200 200 200"),  # api/schema/ (signed in)
    "api-docs": ("GET", "", "L 200 200 200 200 200 200 200"),  # api/docs/ (signed in)
    "departments:login": ("GET", "", "200 200 200 200 200 200 200 200"),  # login/
    "departments:logout": ("POST", "", "L L L L L L L L"),  # logout/
    "departments:password-change": ("GET", "", "L 200 200 200 200 200 200 200"),  # password/
    "departments:audit-log": ("GET", "", "L 403 403 403 403 403 403 200"),  # audit/
    "departments:audit-export": ("GET", "", "L 403 403 403 403 403 403 200"),  # audit/export.xlsx
    "departments:unit-options": (
        "GET",
        "",
        "L 200 200 200 200 200 200 403",
    ),  # units/options/ (ledger datalists)
    "tasks:list": ("GET", "", "L 200 200 200 200 200 200 403"),  # tasks/
    "tasks:create": ("GET", "", "L 403 403 403 403 200 403 403"),  # tasks/new/
    "tasks:deleted": ("GET", "", "L 403 403 403 403 200 403 403"),  # tasks/deleted/
    "tasks:detail": ("GET", "pk=@task", "L 200 404 200 200 200 200 404"),  # tasks/<int:pk>/
    "tasks:edit": ("GET", "pk=@task", "L 403 403 403 403 200 403 404"),  # tasks/<int:pk>/edit/
    "tasks:delete": ("GET", "pk=@task", "L 403 403 403 403 405 403 404"),  # tasks/<int:pk>/delete/
    "tasks:restore": ("GET", "pk=@deleted_task", "L 403 403 403 403 405 403 404"),  # tasks/<int:pk>/restore/
    "tasks:import": ("GET", "", "L 403 403 403 403 200 403 403"),  # tasks/import/
    "tasks:import-preview": ("GET", "", "L 403 403 403 403 405 403 403"),  # tasks/import/preview/ (POST only)
    "tasks:import-confirm": ("GET", "", "L 403 403 403 403 405 403 403"),  # tasks/import/confirm/
    "reports:ledger-export": ("GET", "", "L 200 200 200 200 200 200 403"),  # tasks/export/
    "reports:ledger-export period": ("GET", "?period=@period", "L 200 200 200 200 200 200 403"),
    "reports:ledger-export-page": ("GET", "", "L 200 200 200 200 200 200 403"),  # tasks/export/choose/
    "tasks:extract": ("GET", "", "L 403 403 403 403 200 403 403"),  # plans/extract/
    "tasks:plan-review": ("GET", "", "L 403 403 403 403 R 403 403"),  # plans/review/
    "reports:my-form": ("GET", "", "L 200 200 200 403 403 403 403"),  # reports/my/
    "reports:period-status": ("GET", "", "L 403 403 403 200 200 403 403"),  # reports/status/
    "reports:period-status unit": (
        "GET",
        "?period=@period ?unit=@county_unit",
        "L 403 403 403 200 200 403 403",
    ),
    "reports:review-queue": ("GET", "", "L 403 403 403 403 200 403 403"),  # reports/review/
    "reports:review-accept-selected": ("POST", "", "L 403 403 403 403 R 403 403"),  # reports/review/accept/
    "reports:period-open": ("POST", "", "L 403 403 403 403 R 403 403"),  # reports/periods/open/
    "reports:period-due": (
        "POST",
        "pk=@period",
        "L 403 403 403 403 R 403 404",
    ),  # reports/periods/<int:pk>/due/
    "reports:period-close": (
        "POST",
        "pk=@period",
        "L 403 403 403 403 R 403 404",
    ),  # reports/periods/<int:pk>/close/
    "reports:detail": ("GET", "pk=@report", "L 200 404 404 200 200 404 404"),  # reports/<int:pk>/
    "reports:detail draft": ("GET", "pk=@draft", "L 404 404 200 404 404 404 404"),
    "reports:detail led": ("GET", "pk=@county_report", "L 200 404 200 200 200 404 404"),
    "reports:review": (
        "POST",
        "pk=@report action=accept",
        "L 403 404 404 403 R 404 404",
    ),  # reports/<int:pk>/<str:action>/
    "reports:task-compare": (
        "GET",
        "task_id=@task",
        "L 200 404 404 200 200 404 404",
    ),  # reports/tasks/<int:task_id>/
    "reports:task-compare task2": ("GET", "task_id=@task2", "L 200 404 404 200 200 404 404"),
    "reports:attachment": (
        "GET",
        "pk=@attachment",
        "L 200 404 404 200 200 404 404",
    ),  # reports/attachments/<int:pk>/
    "reports:attachment-delete": (
        "POST",
        "pk=@attachment",
        "L R 404 404 403 403 404 404",
    ),  # reports/attachments/<int:pk>/delete/
    "reports:inbox": ("GET", "", "L 200 200 200 200 200 200 403"),  # inbox/
    "reports:inbox-read": ("POST", "pk=@notification", "L R 404 404 404 404 404 404"),  # inbox/<int:pk>/read/
    "reports:inbox-read-all": ("POST", "", "L R R R R R R 403"),  # inbox/read-all/
    "reports:reminder-log": ("GET", "", "L 403 403 403 403 200 403 403"),  # reminders/
    "reports:remind-unit": ("GET", "", "L 403 403 403 403 200 403 403"),  # reminders/send/
    "reports:dashboard": ("GET", "", "L 200 200 200 200 200 200 403"),  # reports/dashboard/
    "reports:rollup-departments": (
        "GET",
        "",
        "L 200 200 200 200 200 200 403",
    ),  # reports/rollups/departments/
    "reports:rollup-counties": ("GET", "", "L 200 200 200 200 200 200 403"),  # reports/rollups/counties/
    "reports:rollup-plans": ("GET", "", "L 200 200 200 200 200 200 403"),  # reports/rollups/plans/
    "reports:rollup-trend": ("GET", "", "L 200 200 200 200 200 200 403"),  # reports/rollups/trend/
    "reports:compilation-export": ("GET", "", "L 403 403 403 200 200 403 403"),  # reports/compilation.xlsx
    "reports:form-export": ("GET", "", "L 200 200 200 403 403 403 403"),  # reports/my-form.xlsx
    "reports:form-import": ("GET", "", "L 200 200 200 403 403 403 403"),  # reports/my-form/upload/
    # 督办单 and 延期申请 (issue 17): reporters of unit A act for A only, others 404; leaders issue and read;
    # only the secretariat closes and decides; the administrator and the auditor see none of it.
    "api-notices": ("GET", "", "403 200 200 200 200 200 200 403"),  # api/notices/ (others: empty list)
    "api-notice": ("GET", "pk=@notice", "403 200 404 404 200 200 404 404"),  # api/notices/<int:pk>/
    "api-notice-sign": (
        "POST",
        "pk=@notice",
        "403 200 404 404 403 403 404 404",
    ),  # api/notices/<int:pk>/sign/
    "api-notice-reply": (
        "POST",
        "pk=@notice",
        "403 400 404 404 403 403 404 404",
    ),  # api/notices/<int:pk>/reply/
    "api-notice-close": (
        "POST",
        "pk=@notice",
        "403 403 404 404 403 200 404 404",
    ),  # api/notices/<int:pk>/close/
    "api-notice-reopen": (
        "POST",
        "pk=@notice",
        "403 403 404 404 403 400 404 404",
    ),  # api/notices/<int:pk>/reopen/
    "api-extensions": (
        "GET",
        "",
        "403 200 200 200 200 200 200 403",
    ),  # api/extension-requests/ (others: empty)
    "api-extension": (
        "GET",
        "pk=@extension",
        "403 200 404 404 200 200 404 404",
    ),  # api/extension-requests/<int:pk>/
    "api-extension-approve": ("POST", "pk=@extension", "403 403 404 404 403 200 404 404"),  # …/approve/
    "api-extension-reject": ("POST", "pk=@extension", "403 403 404 404 403 400 404 404"),  # …/reject/
    "reports:notice-list": ("GET", "", "L 200 200 200 200 200 403 403"),  # notices/
    "reports:notice-new": ("GET", "", "L 403 403 403 200 200 403 403"),  # notices/new/
    "reports:notice-detail": ("GET", "pk=@notice", "L 200 404 404 200 200 404 404"),  # notices/<int:pk>/
    "reports:notice-print": ("GET", "pk=@notice", "L 200 404 404 200 200 404 404"),  # notices/<int:pk>/print/
    "reports:notice-docx": ("GET", "pk=@notice", "L 200 404 404 200 200 404 404"),  # notices/<int:pk>/word/
    "reports:notice-action": (
        "POST",
        "pk=@notice action=sign",
        "L R 404 404 403 403 404 404",
    ),  # notices/<pk>/<action>/
    "reports:extension-list": ("GET", "", "L 200 200 200 200 200 403 403"),  # extensions/
    "reports:extension-new": ("GET", "", "L 403 403 403 403 403 403 403"),  # extensions/new/ (needs ?task=)
    "reports:extension-decide": (
        "POST",
        "pk=@extension decision=reject",
        "L 403 404 404 403 R 404 404",
    ),  # …/<decision>/
    "reports:notification-preferences": (
        "GET",
        "",
        "L 200 200 200 200 200 200 403",
    ),  # settings/notifications/
    "reports:bulletin-list": ("GET", "", "L 200 200 200 200 200 403 403"),  # reports/bulletins/
    "reports:bulletin-download": (
        "GET",
        "pk=999999",
        "L 404 404 404 404 404 404 404",
    ),  # reports/bulletins/<int:pk>/download/
    "reports:bulletin-draft": (
        "GET",
        "period_id=@period",
        "L 403 403 403 403 200 403 404",
    ),  # reports/bulletins/period/<int:period_id>/
    "reports:bulletin-draft-docx": (
        "GET",
        "period_id=@period",
        "L 403 403 403 403 200 403 404",
    ),  # …/draft.docx
    "reports:bulletin-issue": (
        "POST",
        "period_id=@period",
        "L 403 403 403 403 400 403 404",
    ),  # …/issue/ (not confirmed)
    "reports:task-trajectory": (
        "GET",
        "task_id=@task",
        "L 200 404 200 200 200 200 404",
    ),  # reports/tasks/<int:task_id>/trajectory.json
}

# Django admin: generated patterns per registered model. Non-staff roles are sent to the admin login (L).
ADMIN_POLICY: dict[str, tuple[str, str, str]] = {
    "admin:index": ("GET", "", "L L L L L L 200 403"),  # admin/
    "admin:login": ("GET", "", "200 200 200 200 200 200 R 200"),  # admin/login/
    "admin:logout": ("GET", "", "R R R R R R 405 R"),  # admin/logout/
    "admin:password_change": ("GET", "", "L L L L L L 200 403"),  # admin/password_change/
    "admin:password_change_done": ("GET", "", "L L L L L L 200 403"),  # admin/password_change/done/
    "admin:autocomplete": ("GET", "", "L L L L L L 403 403"),  # admin/autocomplete/
    "admin:jsi18n": ("GET", "", "L L L L L L 200 403"),  # admin/jsi18n/
    "admin:view_on_site": (
        "GET",
        "content_type_id=1 object_id=@reporter_a",
        "L L L L L L 404 404",
    ),  # admin/r/<path:content_type_id>/<path:object_id>/
    "admin:departments_unit_changelist": ("GET", "", "L L L L L L 200 403"),  # admin/departments/unit/
    "admin:departments_unit_add": ("GET", "", "L L L L L L 200 403"),  # admin/departments/unit/add/
    "admin:departments_unit_history": (
        "GET",
        "object_id=@unit_a",
        "L L L L L L 200 404",
    ),  # admin/departments/unit/<path:object_id>/history/
    "admin:departments_unit_delete": (
        "GET",
        "object_id=@unit_a",
        "L L L L L L 200 404",
    ),  # admin/departments/unit/<path:object_id>/delete/
    "admin:departments_unit_change": (
        "GET",
        "object_id=@unit_a",
        "L L L L L L 200 404",
    ),  # admin/departments/unit/<path:object_id>/change/
    "admin/departments/unit/<path:object_id>/": (
        "GET",
        "path=/admin/departments/unit/1/",
        "L L L L L L R 404",
    ),  # admin/departments/unit/<path:object_id>/
    "admin:auth_user_password_change": (
        "GET",
        "id=@reporter_a",
        "L L L L L L 200 404",
    ),  # admin/departments/user/<id>/password/
    "admin:departments_user_changelist": ("GET", "", "L L L L L L 200 403"),  # admin/departments/user/
    "admin:departments_user_add": ("GET", "", "L L L L L L 200 403"),  # admin/departments/user/add/
    "admin:departments_user_history": (
        "GET",
        "object_id=@reporter_a",
        "L L L L L L 200 404",
    ),  # admin/departments/user/<path:object_id>/history/
    "admin:departments_user_delete": (
        "GET",
        "object_id=@reporter_a",
        "L L L L L L 403 404",
    ),  # admin/departments/user/<path:object_id>/delete/
    "admin:departments_user_change": (
        "GET",
        "object_id=@reporter_a",
        "L L L L L L 200 404",
    ),  # admin/departments/user/<path:object_id>/change/
    "admin/departments/user/<path:object_id>/": (
        "GET",
        "path=/admin/departments/user/1/",
        "L L L L L L R 404",
    ),  # admin/departments/user/<path:object_id>/
    # hA: django-import-export bulk import/export of units, aliases and accounts (administrator only).
    "admin:departments_unit_export": ("GET", "", "L L L L L L 200 403"),  # admin/departments/unit/export/
    "admin:departments_unit_import": ("GET", "", "L L L L L L 200 403"),  # admin/departments/unit/import/
    "admin:departments_unit_process_import": (
        "GET",
        "",
        "L L L L L L 405 403",
    ),  # admin/departments/unit/process_import/
    "admin:departments_unitalias_add": ("GET", "", "L L L L L L 403 403"),  # admin/departments/unitalias/add/
    "admin:departments_unitalias_change": (
        "GET",
        "object_id=@unit_a",
        "L L L L L L R 404",
    ),  # admin/departments/unitalias/<path:object_id>/change/
    "admin:departments_unitalias_changelist": (
        "GET",
        "",
        "L L L L L L 200 403",
    ),  # admin/departments/unitalias/
    "admin:departments_unitalias_delete": (
        "GET",
        "object_id=@unit_a",
        "L L L L L L 403 404",
    ),  # admin/departments/unitalias/<path:object_id>/delete/
    "admin:departments_unitalias_export": (
        "GET",
        "",
        "L L L L L L 200 403",
    ),  # admin/departments/unitalias/export/
    "admin:departments_unitalias_history": (
        "GET",
        "object_id=@unit_a",
        "L L L L L L R 404",
    ),  # admin/departments/unitalias/<path:object_id>/history/
    "admin:departments_unitalias_import": (
        "GET",
        "",
        "L L L L L L 200 403",
    ),  # admin/departments/unitalias/import/
    "admin:departments_unitalias_process_import": (
        "GET",
        "",
        "L L L L L L 405 403",
    ),  # admin/departments/unitalias/process_import/
    "admin:departments_user_export": ("GET", "", "L L L L L L 200 403"),  # admin/departments/user/export/
    "admin:departments_user_import": ("GET", "", "L L L L L L 200 403"),  # admin/departments/user/import/
    "admin:departments_user_process_import": (
        "GET",
        "",
        "L L L L L L 405 403",
    ),  # admin/departments/user/process_import/
    "admin/departments/unitalias/<path:object_id>/": (
        "GET",
        "path=/admin/departments/unitalias/1/",
        "L L L L L L R 404",
    ),  # admin/departments/unitalias/<path:object_id>/
    "admin:tasks_document_changelist": ("GET", "", "L L L L L L 403 403"),  # admin/tasks/document/
    "admin:tasks_document_add": ("GET", "", "L L L L L L 403 403"),  # admin/tasks/document/add/
    "admin:tasks_document_history": (
        "GET",
        "object_id=@document",
        "L L L L L L 403 404",
    ),  # admin/tasks/document/<path:object_id>/history/
    "admin:tasks_document_delete": (
        "GET",
        "object_id=@document",
        "L L L L L L 403 404",
    ),  # admin/tasks/document/<path:object_id>/delete/
    "admin:tasks_document_change": (
        "GET",
        "object_id=@document",
        "L L L L L L 403 404",
    ),  # admin/tasks/document/<path:object_id>/change/
    "admin/tasks/document/<path:object_id>/": (
        "GET",
        "path=/admin/tasks/document/1/",
        "L L L L L L R 404",
    ),  # admin/tasks/document/<path:object_id>/
    "admin:app_list": (
        "GET",
        "app_label=departments",
        "L L L L L L 200 404",
    ),  # admin/^(?P<app_label>departments|tasks)/$
    "admin/(?P<url>.*)$": ("GET", "path=/admin/nonexistent/", "L L L L L L 404 404"),  # admin/(?P<url>.*)$
}


def iter_patterns(patterns=None, prefix="", namespace=""):
    """(full name or route, route, pattern) for every URL pattern, recursively."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from iter_patterns(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            yield (f"{namespace}{p.name}" if p.name else route), route, p


def all_patterns() -> dict[str, str]:
    return {key: route for key, route, _p in iter_patterns()}


def _kwargs(spec: str, world) -> tuple[dict, dict]:
    """(URL kwargs, query parameters) of a row's spec."""
    out, query = {}, {}
    for token in spec.split():
        key, value = token.split("=", 1)
        value = world.objects[value[1:]].pk if value.startswith("@") else value
        if key.startswith("?"):
            query[key[1:]] = value
        else:
            out[key] = value
    return out, query


def _name(key: str) -> str:
    return key.split()[0]


def _answer(response) -> str:
    if response.status_code in (301, 302):
        return "L" if "/login/" in response.get("Location", "") else "R"
    return str(response.status_code)


def call(world, key, method, spec) -> list[str]:
    kwargs, query = _kwargs(spec, world)
    url = kwargs.pop("path") if "path" in kwargs else reverse(_name(key), kwargs=kwargs)
    if query:
        url += "?" + urlencode(query)
    answers = []
    for role in ROLES:
        client = world.clients[role]
        cookies = copy.deepcopy(client.cookies)  # a logout must not log the next call out
        with transaction.atomic():
            if method == "PATCH":
                response = getattr(client, method.lower())(url, data="{}", content_type="application/json")
            else:
                response = getattr(client, method.lower())(url)
            answers.append(_answer(response))
            # A file download keeps its file open. (Not response.close(): that sends request_finished, which
            # closes a database connection found inside a transaction.)
            for closer in getattr(response, "_resource_closers", []):
                closer()
            transaction.set_rollback(True)
        client.cookies = cookies
    return answers


def _default_kwargs(key: str, route: str) -> str:
    """A first guess at kwargs for a new pattern (the printed row is then checked by hand)."""
    if key == route:  # an unnamed pattern: call a concrete path
        concrete = re.sub(r"\(\?P<\w+>[^)]*\)", "nonexistent/", route).replace("^", "").replace("$", "")
        concrete = re.sub(r"<[^>]+>", "1", concrete)
        return f"path=/{concrete}"
    names = [a or b for a, b in re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)]
    guess = {
        "pk": "@task",
        "task_id": "@task",
        "action": "accept",
        "object_id": "@reporter_a",
        "id": "@reporter_a",
        "app_label": "departments",
        "url": "nonexistent/",
        "content_type_id": "1",
    }
    for word, obj in [
        ("report", "@report"),
        ("period", "@period"),
        ("attachment", "@attachment"),
        ("notification", "@notification"),
        ("inbox", "@notification"),
        ("unit", "@unit_a"),
        ("document", "@document"),
        ("restore", "@deleted_task"),
        ("api-report-attachments", "@report"),
    ]:
        if word in key:
            guess["pk"] = guess["object_id"] = obj
    return " ".join(f"{n}={guess.get(n, '@task')}" for n in names)


def test_the_rights_table_is_the_one_the_matrix_was_written_for():
    """Changing a right in departments.permissions means changing RULES here and the answers that follow."""
    assert {k: set(v) for k, v in permissions.RULES.items()} == RULES
    assert {k: set(v) for k, v in permissions.CONFINED.items()} == CONFINED


@pytest.mark.django_db
def test_every_url_pattern_is_in_the_policy_table():
    covered = {_name(k) for k in (*POLICY, *ADMIN_POLICY)}
    missing = sorted(k for k in all_patterns() if k not in covered)
    assert not missing, (
        "URL patterns without a row in the role matrix (tests/security/test_role_matrix.py):\n"
        + "\n".join(missing)
    )


@pytest.mark.django_db
def test_policy_rows_name_existing_patterns_only():
    stale = sorted({_name(k) for k in (*POLICY, *ADMIN_POLICY)} - set(all_patterns()))
    assert not stale, f"rows for URL patterns that no longer exist: {stale}"


@pytest.mark.django_db
def test_every_role_gets_exactly_the_answer_in_the_policy_table():
    world = build_world()
    wrong = []
    for key, (method, spec, expected) in {**POLICY, **ADMIN_POLICY}.items():
        got = call(world, key, method, spec)
        if got != expected.split():
            wrong.append(f"{key} {method}: expected {expected!r}, got {' '.join(got)!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.skipif(
    not os.environ.get("ROLE_MATRIX_PRINT"), reason="set ROLE_MATRIX_PRINT=1 to print the actual answers"
)
@pytest.mark.django_db
def test_print_actual_answers():
    world = build_world()
    rows = {**POLICY, **ADMIN_POLICY}
    covered = {_name(k) for k in rows}
    for key, route in all_patterns().items():
        if key not in covered:
            rows[key] = ("GET", _default_kwargs(key, route), "")
    for key, (method, spec, expected) in rows.items():
        got = call(world, key, method, spec)
        if method == "GET" and got.count("405") >= 3 and not expected:
            method, got = "POST", call(world, key, "POST", spec)
        mark = "" if got == expected.split() else "   # CHANGED, was " + expected
        print(f'    "{key}": ("{method}", "{spec}", "{" ".join(got)}"),{mark}')


def _xlsx_text(response) -> str:
    from io import BytesIO

    from openpyxl import load_workbook

    assert response.status_code == 200
    book = load_workbook(
        BytesIO(b"".join(response.streaming_content) if response.streaming else response.content)
    )
    return "\n".join(
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v
    )


@pytest.mark.django_db
def test_administrator_export_with_a_period_carries_no_report_text():
    world = build_world()
    url = reverse("reports:ledger-export") + f"?period={world.objects['period'].pk}"
    assert "医保局已完成支付方式改革" not in _xlsx_text(world.clients["admin"].get(url))
    assert "医保局已完成支付方式改革" in _xlsx_text(
        world.clients["secretariat"].get(url)
    )  # the lead unit's submitted report


@pytest.mark.django_db
def test_compilation_shows_submitted_reports_only():
    world = build_world()
    text = _xlsx_text(world.clients["leader"].get(reverse("reports:compilation-export")))
    assert "医保局已完成支付方式改革" in text and "县区进展" in text
    assert "草稿：尚未提交" not in text


@pytest.mark.django_db
def test_the_menu_offers_every_role_exactly_the_pages_it_may_open():
    """The header menu asks the same table: every item opens for that role, and every menu page it may open is
    offered (the admin console counts as open for the administrator only)."""
    from reform_ledger.context_processors import NAV

    world = build_world()
    for role in ROLES[1:]:
        client = world.clients[role]
        response = client.get(reverse("departments:password-change"))  # a page every signed-in role may open
        offered = {item["url"] for item in response.context["nav_items"]}
        for name, _label, _capability in NAV:
            url = reverse(name)
            answer = _answer(client.get(url))
            opens = answer == "200"
            assert (url in offered) == opens, (
                f"{role}: menu {'offers' if url in offered else 'hides'} {url} ({answer})"
            )


@pytest.mark.django_db
def test_templates_ask_the_table_through_user_can():
    from django.template import Context, Template

    from reform_ledger.context_processors import UserCan

    world = build_world()
    template = Template(
        "{% if user_can.ledger_edit %}edit{% endif %}|{% if user_can.audit_read %}audit{% endif %}"
    )
    assert template.render(Context({"user_can": UserCan(world.objects["secretariat"])})) == "edit|"
    assert template.render(Context({"user_can": UserCan(world.objects["auditor"])})) == "|audit"
    assert template.render(Context({"user_can": UserCan(world.objects["reporter_a"])})) == "|"
