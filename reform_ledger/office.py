"""Old office files converted with LibreOffice headless: the one converter for every upload that needs it
(.doc / .wps plans into .docx, WPS .et workbooks python-calamine cannot read into .xlsx).

The caller checks the file first (type, encryption, size: reform_ledger/uploads.py) and inspects what comes out
like any upload; here only the conversion: a temporary directory, a LibreOffice profile of its own per run (two
conversions at once, or a desktop LibreOffice, must not share and lock one), a time limit. Failures are
``ConversionError`` with a ``reason`` the caller turns into its own Chinese message.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CONVERT_TIMEOUT = 90  # seconds


class ConversionError(Exception):
    """``reason``: "missing" (LibreOffice is not installed), "timeout" or "failed" (damaged, encrypted, or not
    something LibreOffice can write as the target format)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def soffice() -> str | None:
    """The LibreOffice executable, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_libreoffice(
    data: bytes, *, suffix: str, to: str, timeout: int = CONVERT_TIMEOUT, infilter: str | None = None
) -> bytes:
    """``data`` (a file whose name would end in ``suffix``, e.g. ".doc") converted to ``to`` ("docx", "xlsx").
    ``infilter`` forces LibreOffice's import filter: without it, a file no filter recognises is imported as
    plain text, and its bytes come back as a one-column sheet instead of an error."""
    executable = soffice()
    if executable is None:
        raise ConversionError("missing")
    with tempfile.TemporaryDirectory(prefix="office-convert-") as tmp:
        src = Path(tmp) / f"upload{suffix}"
        src.write_bytes(data)
        profile = (Path(tmp) / "profile").as_uri()
        try:
            done = subprocess.run(
                [
                    executable,
                    f"-env:UserInstallation={profile}",
                    "--headless",
                    "--norestore",
                    *([f"--infilter={infilter}"] if infilter else []),
                    "--convert-to",
                    to,
                    "--outdir",
                    tmp,
                    str(src),
                ],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ConversionError("timeout") from None
        out = Path(tmp) / f"upload.{to}"
        if done.returncode != 0 or not out.exists():
            raise ConversionError("failed")
        return out.read_bytes()
