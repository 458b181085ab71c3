"""One inspection for every zip-based upload (.xlsx, .docx, attachments), run before any parser inflates it.

An Office Open XML file is a zip of XML parts. Before openpyxl, calamine, python-docx or a reviewer's Office opens
one, we look at it the cheap way: the central directory (member count, declared sizes, compression ratio) and the
XML parts streamed in 1 MB chunks through a bounded reader (entity and DOCTYPE declarations: billion laughs, XXE).
ZipExtFile never returns more than a member's declared size and checks its CRC at the end, so a member that lies
about its size fails here instead of inflating without bound. Memory stays at one chunk whatever the file.

Callers add what only they know (an Excel reader its row and column limits) through ``on_chunk``.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File Binary: .doc / .xls, and encrypted OOXML
MAX_ZIP_MEMBERS = 10_000
MAX_INFLATION_RATIO = 100  # per member over 1 MB; ordinary Office parts compress 5-20 times
CHUNK = 1024 * 1024

# What each kind must contain to be what its name says.
MARKERS = {"xlsx": ("xl/workbook.xml", "xl/workbook.bin"), "docx": ("word/document.xml",)}
LABELS = {"xlsx": " Excel 工作簿（.xlsx / .xls）", "docx": " Word 文档（.docx）"}


class UploadRejected(ValueError):
    """An upload refused before parsing; ``message`` is for the user (Chinese) and never echoes the content."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def human_size(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")


def max_inflated_bytes() -> int:
    """The most any one upload may inflate to (all members together)."""
    return getattr(settings, "UPLOAD_MAX_INFLATED_BYTES", 200 * 1024 * 1024)


def inspect_zip(
    source: bytes | BinaryIO,
    *,
    kind: str,
    name: str = "文件",
    limit: int | None = None,
    ratio: int = MAX_INFLATION_RATIO,
    max_members: int = MAX_ZIP_MEMBERS,
    on_chunk: Callable[[zipfile.ZipInfo, bytes, bytes], None] | None = None,
) -> None:
    """Refuse (UploadRejected) a zip-based Office file that is damaged, not of ``kind``, encrypted, a zip bomb or
    carries XML entity declarations. ``on_chunk(member, window, chunk)`` sees every XML chunk for extra checks."""
    label = LABELS.get(kind, "文件")
    fileobj = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    start = fileobj.tell() if hasattr(fileobj, "tell") else 0
    try:
        try:
            archive = zipfile.ZipFile(fileobj)
            members = archive.infolist()
        except (zipfile.BadZipFile, EOFError, ValueError, OSError):
            raise UploadRejected(
                f"{name}已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。"
            ) from None
        names = {m.filename for m in members}
        if kind in MARKERS and not names.intersection(MARKERS[kind]):
            raise UploadRejected(f"{name}不是{label}。")
        if len(members) > max_members:
            raise UploadRejected(
                f"{name}包含的部件过多（{len(members)} 个，上限 {max_members} 个），拒绝读取。"
            )
        limit = limit or max_inflated_bytes()
        declared = sum(m.file_size for m in members)
        if declared > limit:
            raise UploadRejected(
                f"{name}解压后过大（{human_size(declared)}，上限 {human_size(limit)}），疑似压缩炸弹，拒绝读取。"
            )
        for m in members:
            if m.file_size > CHUNK and m.file_size > ratio * max(m.compress_size, 1):
                raise UploadRejected(
                    f"{name}压缩比异常（{m.file_size // max(m.compress_size, 1)} 倍，上限 {ratio} 倍），"
                    "疑似压缩炸弹，拒绝读取。"
                )
        for m in members:
            if not m.filename.endswith((".xml", ".rels", ".vml")):
                continue
            tail = b""
            try:
                with archive.open(m) as fh:
                    while chunk := fh.read(CHUNK):
                        window = tail + chunk
                        if b"<!DOCTYPE" in window or b"<!ENTITY" in window or b"<!doctype" in window:
                            raise UploadRejected(
                                f"{name}包含 XML 实体或 DOCTYPE 声明，出于安全原因拒绝读取。请用 Excel、Word 或 WPS 另存后再上传。"
                            )
                        if on_chunk is not None:
                            on_chunk(m, window, chunk)
                        tail = chunk[-32:]
            except UploadRejected:
                raise
            except RuntimeError as e:
                if "encrypt" in str(e).lower() or "password" in str(e).lower():
                    raise UploadRejected(f"{name}已加密（设置了打开密码），请取消密码后再上传。") from None
                raise UploadRejected(
                    f"{name}已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。"
                ) from None
            except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError):
                raise UploadRejected(
                    f"{name}已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。"
                ) from None
    finally:
        if hasattr(fileobj, "seek"):
            fileobj.seek(start)


def inspect_ole(data: bytes, *, name: str = "文件") -> None:
    """An OLE container: refuse an encrypted Office file (an encrypted .xlsx/.docx is an OLE file holding
    EncryptedPackage) and one too short to be a document."""
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        raise UploadRejected(f"{name}已加密（设置了打开密码），请取消密码后再上传。")
    if len(data) < 1536:
        raise UploadRejected(f"{name}已损坏或不完整（可能上传中断），无法读取。请重新保存后上传。")


# --- how many large uploads are parsed at once ------------------------------------------------------------------


@contextlib.contextmanager
def parse_slot(*, what: str = "表格导入"):
    """Hold one of the server's `UPLOAD_PARSE_SLOTS` slots while an upload is parsed and planned.

    Reading and planning a large workbook holds all its rows in memory (bench/bench_upload_memory.py: about 150 MB
    for 40,000 rows, 2.4 MB); six parallel uploads once took a server from 175 MB to 1.3 GB. The slots bound that
    across every web worker of the host: a file lock per slot (fcntl, released by the kernel if a worker dies).
    A caller waits up to `UPLOAD_PARSE_WAIT_SECONDS` for a slot, then gets UploadRejected with a message to try
    again, instead of the server running out of memory."""
    slots = max(1, int(getattr(settings, "UPLOAD_PARSE_SLOTS", 2)))
    wait = float(getattr(settings, "UPLOAD_PARSE_WAIT_SECONDS", 20))
    directory = Path(
        getattr(settings, "UPLOAD_LOCK_DIR", "") or Path(tempfile.gettempdir()) / "reform_ledger_locks"
    )
    directory.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        for i in range(slots):
            handle = open(directory / f"parse-{i}.lock", "a+b")  # noqa: SIM115 - held until the block ends
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if time.monotonic() >= deadline:
            raise UploadRejected(
                f"服务器正在处理其他{what}（同时最多 {slots} 个），请稍等一分钟后再上传。这次上传没有写入任何内容。"
            )
        time.sleep(0.2)
