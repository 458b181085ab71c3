"""What a report attachment may be: its type, size and content checked before it is stored (reports.services
.attachment_add) or offered in the form."""

from __future__ import annotations

import zipfile
from pathlib import PurePath

from django.conf import settings

from departments.services import (
    ApplicationError,
)
from reform_ledger.uploads import OLE_MAGIC, UploadRejected, inspect_zip

# ---------------------------------------------------------------------------------------------------------------
# Attachments
# ---------------------------------------------------------------------------------------------------------------

OLE = OLE_MAGIC  # Compound File Binary: .doc / .xls

# extension -> (label, the kinds `filetype` may report for it, content type served)
ALLOWED_TYPES: dict[str, tuple[str, set[str], str]] = {
    ".pdf": ("PDF", {"pdf"}, "application/pdf"),
    ".doc": ("Word", {"doc", "xls", "ppt"}, "application/msword"),
    ".docx": ("Word", {"docx"}, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".xls": ("Excel", {"xls", "doc", "ppt"}, "application/vnd.ms-excel"),
    ".xlsx": ("Excel", {"xlsx"}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".jpg": ("图片", {"jpg"}, "image/jpeg"),
    ".jpeg": ("图片", {"jpg"}, "image/jpeg"),
    ".png": ("图片", {"png"}, "image/png"),
    ".gif": ("图片", {"gif"}, "image/gif"),
    ".bmp": ("图片", {"bmp"}, "image/bmp"),
}
ZIP_MARKERS = {".docx": "word/document.xml", ".xlsx": "xl/workbook.xml"}
ATTACHMENT_MAX_INFLATED = 100 * 1024 * 1024  # a 20 MB attachment of ordinary Office content inflates far less


def _human_size(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def attachment_check(*, name: str, head: bytes, size: int, fileobj=None) -> str:
    """Check an upload's type, size and content; returns the content type to serve it with."""
    ext = PurePath(name or "").suffix.lower()
    allowed = "PDF、Word（doc/docx）、Excel（xls/xlsx）、图片（jpg/png/gif/bmp）"
    if ext not in ALLOWED_TYPES:
        raise ApplicationError(f"附件“{name}”的类型不允许，只能上传 {allowed}。", field="attachments")
    if size <= 0:
        raise ApplicationError(f"附件“{name}”是空文件。", field="attachments")
    limit = settings.ATTACHMENT_MAX_BYTES
    if size > limit:
        raise ApplicationError(
            f"附件“{name}”大小 {_human_size(size)}，超过上限 {_human_size(limit)}。", field="attachments"
        )
    import filetype

    label, kinds, content_type = ALLOWED_TYPES[ext]
    kind = filetype.guess(head)
    found = kind.extension if kind else None
    ok = found in kinds
    if ext in (".doc", ".xls"):
        ok = head.startswith(OLE) and (found is None or found in kinds)
    elif (
        ext in ZIP_MARKERS
        and found in ("zip", "docx", "xlsx", None)
        and fileobj is not None
        and head.startswith(b"PK")
    ):
        # filetype reads only the first bytes; some writers put the telling zip entry further in.
        try:
            fileobj.seek(0)
            with zipfile.ZipFile(fileobj) as zf:
                ok = ZIP_MARKERS[ext] in zf.namelist()
        except zipfile.BadZipFile:
            ok = False
        finally:
            fileobj.seek(0)
    if ok and ext in ZIP_MARKERS and fileobj is not None:
        # Reviewers open attachments in Office: no zip bombs or entity tricks stored for them either.
        try:
            inspect_zip(fileobj, kind=ext[1:], name=f"附件“{name}”", limit=ATTACHMENT_MAX_INFLATED)
        except UploadRejected as e:
            raise ApplicationError(e.message, field="attachments") from None
    if not ok:
        raise ApplicationError(
            f"附件“{name}”的内容与扩展名不符（扩展名为 {ext}，内容不是{label}文件），已拒绝。",
            field="attachments",
        )
    return content_type
