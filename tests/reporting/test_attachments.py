"""Attachments: allowed types only, size limit, content must match the name, random names, guarded download."""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from departments.services import ApplicationError, PermissionDeniedError
from reports.models import Attachment
from reports.services import attachment_add, report_accept, report_submit

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "name,content", [("进展材料.pdf", PDF), ("照片.png", PNG), ("汇报.docx", docx_bytes())]
)
def test_allowed_files_are_stored_under_a_random_name(draft, reporter, media, name, content):
    a = attachment_add(report=draft, file=SimpleUploadedFile(name, content), actor=reporter)
    assert a.original_name == name and a.size == len(content) and len(a.sha256) == 64
    stored = Path(a.file.name).name
    assert name not in a.file.name and "." not in stored and len(stored) == 32
    assert (media / a.file.name).read_bytes() == content


def test_a_file_type_not_allowed_is_refused(draft, reporter):
    with pytest.raises(ApplicationError, match="类型不允许") as exc:
        attachment_add(
            report=draft, file=SimpleUploadedFile("脚本.exe", b"MZ\x90\x00" + b"\x00" * 60), actor=reporter
        )
    assert exc.value.field == "attachments"
    assert not Attachment.objects.exists()


def test_a_file_whose_content_is_not_what_its_name_says_is_refused(draft, reporter):
    with pytest.raises(ApplicationError, match="内容与扩展名不符"):
        attachment_add(report=draft, file=SimpleUploadedFile("伪装.pdf", PNG), actor=reporter)
    with pytest.raises(ApplicationError, match="内容与扩展名不符"):
        attachment_add(report=draft, file=SimpleUploadedFile("表格.xlsx", docx_bytes()), actor=reporter)
    with pytest.raises(ApplicationError, match="内容与扩展名不符"):
        attachment_add(
            report=draft, file=SimpleUploadedFile("旧版.doc", b"just text pretending"), actor=reporter
        )
    assert not Attachment.objects.exists()


def test_a_file_over_the_size_limit_is_refused(draft, reporter, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    with pytest.raises(ApplicationError, match="超过上限"):
        attachment_add(report=draft, file=SimpleUploadedFile("大.pdf", PDF + b"0" * 2000), actor=reporter)
    assert not Attachment.objects.exists()


def test_an_empty_file_is_refused(draft, reporter):
    with pytest.raises(ApplicationError, match="空文件"):
        attachment_add(report=draft, file=SimpleUploadedFile("空.pdf", b""), actor=reporter)


def test_attachments_cannot_be_added_to_a_locked_report_or_by_another_unit(
    submitted, reporter, outsider, secretariat
):
    with pytest.raises(ApplicationError):
        attachment_add(report=submitted, file=SimpleUploadedFile("a.pdf", PDF), actor=reporter)
    accepted = report_accept(report=submitted, actor=secretariat)
    with pytest.raises(ApplicationError):
        attachment_add(report=accepted, file=SimpleUploadedFile("a.pdf", PDF), actor=reporter)
    with pytest.raises(PermissionDeniedError):
        attachment_add(report=accepted, file=SimpleUploadedFile("a.pdf", PDF), actor=outsider)


def test_download_keeps_the_original_name_and_checks_who_may_see_the_report(
    draft, reporter, secretariat, leader, outsider, county_reporter, auditor, client_as
):
    a = attachment_add(report=draft, file=SimpleUploadedFile("县域医共体进展.pdf", PDF), actor=reporter)
    url = f"/reports/attachments/{a.pk}/"
    assert client_as(secretariat).get(url).status_code == 404  # a draft's attachment is the unit's own
    report_submit(report=draft, actor=reporter)
    for user in (reporter, secretariat, leader):
        res = client_as(user).get(url)
        assert res.status_code == 200
        assert res["Content-Disposition"].startswith("attachment")
        assert "%E5%8E%BF%E5%9F%9F" in res["Content-Disposition"]  # 县域, RFC 5987 encoded
        assert b"".join(res.streaming_content) == PDF
    for user in (outsider, county_reporter, auditor):
        assert client_as(user).get(url).status_code == 404


def test_anonymous_download_goes_to_login(draft, reporter, client):
    a = attachment_add(report=draft, file=SimpleUploadedFile("a.pdf", PDF), actor=reporter)
    res = client.get(f"/reports/attachments/{a.pk}/")
    assert res.status_code == 302 and "/login/" in res["Location"]


def test_bad_upload_through_the_form_saves_nothing_and_says_why(client_as, reporter, task, period):
    res = client_as(reporter).post(
        "/reports/my/",
        {
            "period": period.pk,
            "action": "save",
            f"t{task.pk}-progress": "in_progress",
            f"t{task.pk}-text": "写了进展",
            f"t{task.pk}-files": SimpleUploadedFile("伪装.pdf", PNG),
        },
    )
    assert res.status_code == 400
    assert "内容与扩展名不符" in res.content.decode()
    assert not Attachment.objects.exists()
    from reports.models import Report

    assert not Report.objects.exists()


def test_api_upload_checks_content_and_visibility(api_as, reporter, outsider, draft, b_own_report):
    api = api_as(reporter)
    res = api.post(
        f"/api/reports/{draft.pk}/attachments/",
        {"file": SimpleUploadedFile("材料.pdf", PDF)},
        format="multipart",
    )
    assert res.status_code == 201 and res.json()["name"] == "材料.pdf"
    res = api.post(
        f"/api/reports/{draft.pk}/attachments/",
        {"file": SimpleUploadedFile("假.pdf", PNG)},
        format="multipart",
    )
    assert res.status_code == 400 and res.json()["field"] == "attachments" and "不符" in res.json()["detail"]
    res = api.post(
        f"/api/reports/{b_own_report.pk}/attachments/",
        {"file": SimpleUploadedFile("a.pdf", PDF)},
        format="multipart",
    )
    assert res.status_code == 404
    assert [a["name"] for a in api.get(f"/api/reports/{draft.pk}/").json()["attachments"]] == ["材料.pdf"]
