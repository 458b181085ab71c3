"""The Excel import pages (see tasks/ledger_import.py); the export pages are the reports app's (reports/views/excel.py).

Import is two steps: the upload is checked and previewed (nothing written), then the secretariat confirms and the
same file is written in one transaction. Between the two the file waits under MEDIA_ROOT/imports/ under a random
name recorded in the uploader's session, so nobody can confirm someone else's upload.
"""

import hashlib
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.views import View

from departments.permissions import SecretariatRequiredMixin
from departments.services import ApplicationError
from reform_ledger.params import is_id
from reform_ledger.uploads import UploadRejected, parse_slot

from .excel import SpreadsheetError
from .ledger_cells import unit_kind_for
from .ledger_import import ledger_import
from .models import Document

SESSION_KEY = "ledger_imports"


def _import_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read_upload(upload) -> bytes:
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise ApplicationError(
            f"文件过大（{upload.size / 1024 / 1024:.1f} MB），上限为 {settings.IMPORT_MAX_BYTES // 1024 // 1024} MB。",
            field="file",
        )
    return upload.read()


def _document_from(value) -> Document | None:
    value = (value or "").strip()
    if not value:
        return None
    doc = (
        Document.objects.filter(pk=int(value)).first()
        if is_id(value)
        else Document.objects.filter(doc_number=value).first()
    )
    if doc is None:
        raise ApplicationError(f"找不到文件“{value}”。", field="document")
    return doc


def _options_from(post, previous: dict | None = None, shown: dict | None = None) -> dict:
    """The preview's settings as the page posts them: sheet, header row, column mapping, plan, unit choices, rows
    sent to new tasks. Values are checked by ledger_import (unknown ids, sheets, rows and columns give a message
    there).

    ``shown``: the sheet and header row of the preview the form belongs to (its hidden fields). The column mapping
    and the header-row list belong to that sheet and header: another sheet is read with its own header and columns
    found anew, another header row with its own columns."""
    options = dict(previous or {})
    shown = {
        "sheet": post.get("shown_sheet", (shown or {}).get("sheet")),
        "header_row": str(post.get("shown_header_row", (shown or {}).get("header_row")) or ""),
    }
    sheet = post.get("sheet")
    header_row = (post.get("header_row") or "").strip()
    if sheet and sheet != shown["sheet"]:
        options.update(sheet=sheet, header_row=None)
        options.pop("mapping", None)
        return _other_options(post, options)
    if header_row and header_row != shown["header_row"]:
        options.update(sheet=sheet or shown["sheet"] or options.get("sheet"), header_row=header_row)
        options.pop("mapping", None)
        return _other_options(post, options)
    if post.get("mapping_submitted"):
        mapping = {}
        for key in ("seq", "title", "text", "lead", "responsible", "deadline", "status", "note", "source"):
            raw = (post.get(f"map_{key}") or "").strip()
            mapping[key] = int(raw) if is_id(raw) or raw == "0" else None
        options["mapping"] = mapping
    return _other_options(post, options)


def _other_options(post, options: dict) -> dict:
    """The plan, the unit choices and the rows sent to new tasks, as the page posts them."""
    target = post.get("target")
    if target == "existing":
        options.update(document=(post.get("document") or "").strip() or None, doc_number=None, doc_title=None)
    elif target == "new":
        options.update(
            document=None,
            doc_number=(post.get("doc_number") or "").strip() or None,
            doc_title=(post.get("doc_title") or "").strip() or None,
        )
    elif target == "column":
        options.update(document=None, doc_number=None, doc_title=None)
    choices = dict(options.get("unit_choices") or {})
    for i in range(int(post.get("unit_count") or 0) if str(post.get("unit_count") or "0").isdigit() else 0):
        name = (post.get(f"unit_name_{i}") or "").strip()
        value = (post.get(f"unit_choice_{i}") or "").strip()
        if not name:
            continue
        if value.startswith("unit:") and is_id(value[5:]):
            choices[name] = ["unit", int(value[5:])]
        elif value in ("new:department", "new:county"):
            choices[name] = ["new", value[4:]]
        elif value == "ignore":
            choices[name] = ["ignore", None]
        else:
            choices.pop(name, None)
    options["unit_choices"] = choices
    if post.get("rows_submitted"):
        options["as_new"] = sorted(int(v) for v in post.getlist("as_new") if is_id(v))
    return options


def _run(data: bytes, options: dict, **extra):
    document = _document_from(options.get("document")) if options.get("document") else None
    try:
        with parse_slot():
            return _import(data, options, document, **extra)
    except UploadRejected as e:
        raise SpreadsheetError(e.message, field="file") from None


def _import(data: bytes, options: dict, document, **extra):
    return ledger_import(
        data=data,
        document=document,
        doc_number=options.get("doc_number"),
        doc_title=options.get("doc_title"),
        mapping=options.get("mapping"),
        sheet=options.get("sheet"),
        header_row=options.get("header_row"),
        unit_choices={k: tuple(v) for k, v in (options.get("unit_choices") or {}).items()},
        as_new=set(options.get("as_new") or ()),
        **extra,
    )


def _preview(data: bytes, options: dict, filename: str | None = None):
    """(result, note) of a preview. A sheet without a recognisable header is previewed from the row most like one,
    with the reason as the note, so that the user can choose the header row and the columns; ``options`` then
    names that sheet and row."""
    try:
        return _run(data, options, dry_run=True, filename=filename), None
    except SpreadsheetError as e:
        guess = getattr(e, "likely_header", None)
        if e.field != "header" or options.get("header_row") or guess is None:
            raise
        options.update(sheet=guess[0], header_row=str(guess[1]))
        options.pop("mapping", None)
        note = (
            f"{e.message.rstrip('。')}。已暂按工作表“{guess[0]}”第 {guess[1]} 行作为表头："
            "请在下面选择表头所在的行，并指定哪一列是任务名称、牵头单位等。"
        )
        return _run(data, options, dry_run=True, filename=filename), note


def _shown(result) -> dict:
    """The sheet and header row a preview used: hidden fields of its forms, and what a confirm must match."""
    header = result.header
    return {"sheet": header.sheet, "header_row": str(header.row + 1)} if header else {}


PREVIEW_ROWS = 300  # rows listed one by one in the preview; then only the rows that need a look


def preview_rows(plans: list) -> tuple[list, str]:
    """(rows the preview lists, a sentence counting the rows it leaves out). A 40,000-row ledger listed in full made a 30 MB page that
    held as much server memory again and that nobody reads: the first PREVIEW_ROWS rows are listed, and after them
    every row that asks for a decision (flagged, to be imported as new) and up to as many again that will change a
    task or carry a warning; the rest are counted."""
    shown, hidden, notable = [], {}, 0
    for i, p in enumerate(plans):
        if i < PREVIEW_ROWS or p.flagged or p.as_new:
            shown.append(p)
        elif (p.action == "update" or p.warnings) and notable < PREVIEW_ROWS:
            notable += 1
            shown.append(p)
        else:
            hidden[p.action_label] = hidden.get(p.action_label, 0) + 1
    words = "、".join(f"{label} {n} 行" for label, n in hidden.items())
    return shown, (
        f"另有 {sum(hidden.values())} 行未逐行列出（{words}），确认导入时与上面列出的行一并处理。"
        if hidden
        else ""
    )


def preview_errors(errors: list) -> tuple[list, list[tuple[str, str, int, str]]]:
    """(errors listed one by one, the rest grouped): a ledger whose units are all unknown has an error on every
    row, 113,000 for 40,000 rows; listed in full that was a 17 MB page. The first PREVIEW_ROWS errors are listed;
    the others are counted per column and message, with their first rows: [(column, message, count, rows)]."""
    listed = errors[:PREVIEW_ROWS]
    groups: dict[tuple[str, str], list[int]] = {}
    for e in errors[PREVIEW_ROWS:]:
        groups.setdefault((e.column, e.message), []).append(e.row)
    rest = sorted(groups.items(), key=lambda item: (-len(item[1]), item[1][0]))
    return listed, [
        (column, message, len(rows), "、".join(map(str, rows[:10])) + ("…" if len(rows) > 10 else ""))
        for (column, message), rows in rest[:PREVIEW_ROWS]
    ]


def _preview_context(result, *, token, filename, options) -> dict:
    from departments.selectors import units_active

    shown, hidden = preview_rows(result.plans)
    errors, more_errors = preview_errors(result.errors)
    return {
        "preview_errors": errors,
        "more_errors": more_errors,
        "more_error_count": len(result.errors) - len(errors),
        "result": result,
        "preview_rows": shown,
        "hidden_rows": hidden,
        "token": token,
        "filename": filename,
        "options": options,
        "documents": Document.objects.all(),
        "units": units_active().order_by("kind", "sort_order", "name"),
        "unknown": [
            (name, suggestions, unit_kind_for(name), result.strong_matches.get(name))
            for name, suggestions in result.unknown_units.items()
        ],
        "as_new": set(options.get("as_new") or ()),
        "shown": _shown(result),
    }


class ImportView(SecretariatRequiredMixin, View):
    template_name = "tasks/import.html"

    def get(self, request):
        return render(request, self.template_name, self._context())

    def _context(self, **extra):
        return {
            "documents": Document.objects.all(),
            "max_mb": settings.IMPORT_MAX_BYTES // 1024 // 1024,
            "max_rows": settings.IMPORT_MAX_ROWS,
            "max_columns": settings.IMPORT_MAX_COLUMNS,
            **extra,
        }

    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            return render(
                request,
                self.template_name,
                self._context(error="请选择要导入的 Excel 文件（.xlsx、.xls 或 WPS 表格 .et）。"),
                status=400,
            )
        options = {"document": (request.POST.get("document") or "").strip() or None}
        try:
            data = _read_upload(upload)
            result, note = _preview(data, options, upload.name)
        except ApplicationError as e:
            return render(request, self.template_name, self._context(error=e.message), status=400)
        # A workbook only LibreOffice could read is kept as the .xlsx it made: previews and confirm read that.
        data = result.converted or data
        token = secrets.token_urlsafe(16)
        (_import_dir() / f"{token}.bin").write_bytes(data)
        pending = request.session.get(SESSION_KEY, {})
        pending[token] = {
            "name": upload.name,
            "document": options["document"],
            "options": options,
            "shown": _shown(result),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        request.session[SESSION_KEY] = pending
        context = _preview_context(result, token=token, filename=upload.name, options=options)
        context["setting_error"] = note
        return render(request, "tasks/import_preview.html", context)


def _pending(request):
    token = request.POST.get("token", "")
    pending = request.session.get(SESSION_KEY, {})
    entry = pending.get(token)
    file = _import_dir() / f"{token}.bin"
    if entry is None or not token.replace("-", "").replace("_", "").isalnum() or not file.exists():
        return None
    data = file.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        return None
    return token, pending, entry, file, data


class ImportPreviewView(SecretariatRequiredMixin, View):
    """The preview again with the settings the user changed (sheet, columns, plan, units, rows as new tasks)."""

    def post(self, request):
        found = _pending(request)
        if found is None:
            messages.error(request, "导入预览已失效，请重新上传文件。")
            return redirect("tasks:import")
        token, pending, entry, _file, data = found
        options = _options_from(request.POST, entry.get("options"), entry.get("shown"))
        try:
            result, note = _preview(data, options)
        except ApplicationError as e:
            # Keep the previous settings; say what is wrong with the new ones.
            previous = entry.get("options") or {}
            result = _run(data, previous, dry_run=True)
            context = _preview_context(result, token=token, filename=entry["name"], options=previous)
            context["setting_error"] = e.message
            return render(request, "tasks/import_preview.html", context, status=400)
        entry["options"] = options
        entry["shown"] = _shown(result)
        pending[token] = entry
        request.session[SESSION_KEY] = pending
        context = _preview_context(result, token=token, filename=entry["name"], options=options)
        context["setting_error"] = note
        return render(request, "tasks/import_preview.html", context)


class ImportConfirmView(SecretariatRequiredMixin, View):
    def post(self, request):
        found = _pending(request)
        if found is None:
            messages.error(request, "导入预览已失效，请重新上传文件。")
            return redirect("tasks:import")
        token, pending, entry, file, data = found
        options = entry.get("options") or {"document": entry.get("document")}
        posted = {k: request.POST[k] for k in ("sheet", "header_row") if k in request.POST}
        shown = entry.get("shown")
        if posted and shown and any(posted[k] != shown.get(k) for k in posted):
            # The page confirmed another sheet or header than the last preview of this upload (changed in another
            # window since): show that preview again rather than import what the user did not see.
            result = _run(data, options, dry_run=True)
            context = _preview_context(result, token=token, filename=entry["name"], options=options)
            context["setting_error"] = (
                "确认的工作表或表头行与这份文件最近一次预览的不同（可能在另一个窗口中改过设置），未导入。"
                "请核对下面的预览后再确认。"
            )
            return render(request, "tasks/import_preview.html", context, status=409)
        try:
            result = _run(data, options, dry_run=False, actor=request.user, request=request)
        except ApplicationError as e:
            messages.error(request, e.message)
            return redirect("tasks:import")
        if not result.written:
            # Someone changed the ledger between preview and confirm so that rows no longer pass: show them.
            context = _preview_context(result, token=token, filename=entry["name"], options=options)
            return render(request, "tasks/import_preview.html", context, status=400)
        file.unlink(missing_ok=True)
        pending.pop(token, None)
        request.session[SESSION_KEY] = pending
        text = f"导入完成：新建 {result.created} 项，更新 {result.updated} 项，未变 {result.unchanged} 项。"
        if result.document is not None and result.document.created:
            text += f"已新建文件“{result.document.doc_number or result.document.title}”。"
        if result.new_units:
            text += f"已新建单位：{'、'.join(result.new_units)}。"
        if result.conflicts:
            text += f"另有 {len(result.conflicts)} 项因导出后已被修改而未覆盖，请重新导出后再改。"
        messages.success(request, text)
        return redirect("tasks:list")


urlpatterns = [
    path("tasks/import/", ImportView.as_view(), name="import"),
    path("tasks/import/preview/", ImportPreviewView.as_view(), name="import-preview"),
    path("tasks/import/confirm/", ImportConfirmView.as_view(), name="import-confirm"),
]
