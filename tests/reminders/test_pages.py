import pytest
from django.urls import reverse

from departments.models import AuditEntry
from reports.models import Delivery, Notification, Reminder
from reports.reminders import reminders_send_due

from .conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def reminded(ledger):
    reminders_send_due(now=at("2024-09-13"), deliver="sync")
    return ledger


def test_the_header_shows_the_inbox_link_with_the_unread_count(reminded, reporter, client_as):
    page = client_as(reporter).get(reverse("tasks:list")).content.decode()
    assert reverse("reports:inbox") in page
    assert 'data-testid="unread-count">1<' in page


def test_the_inbox_lists_my_messages_with_a_link_to_the_form(reminded, reporter, client_as):
    response = client_as(reporter).get(reverse("reports:inbox"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "2024年第三季度" in html and "报送临近" in html and "去填报" in html


def test_opening_a_message_marks_it_read_and_goes_to_the_form(reminded, reporter, client_as):
    note = reporter.notifications.get()
    response = client_as(reporter).post(reverse("reports:inbox-read", args=[note.pk]), {"open": "1"})
    assert response.status_code == 302 and response["Location"] == note.link
    note.refresh_from_db()
    assert note.read


def test_mark_all_read_empties_the_unread_count(reminded, reporter, second_reporter, client_as):
    reminders_send_due(now=at("2024-09-14"), deliver="sync")
    assert reporter.notifications.filter(read_at__isnull=True).count() == 2
    response = client_as(reporter).post(reverse("reports:inbox-read-all"))
    assert response.status_code == 302
    assert reporter.notifications.filter(read_at__isnull=True).count() == 0
    assert second_reporter.notifications.filter(read_at__isnull=True).count() == 1  # not someone else's


def test_nobody_can_mark_someone_elses_message(reminded, reporter, outsider, client_as):
    note = reporter.notifications.get()
    assert client_as(outsider).post(reverse("reports:inbox-read", args=[note.pk])).status_code == 404
    note.refresh_from_db()
    assert not note.read


def test_the_inbox_needs_a_login(client):
    response = client.get(reverse("reports:inbox"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_secretariat_sees_the_reminder_log_with_failures_and_reasons(
    reminded, secretariat, client_as, unit_a
):
    Delivery.objects.filter(channel="email", recipient="yibaoju@example.gov.cn").update(
        status="failed", error="邮件发送失败（SMTPConnectError）：(421, 'down')"
    )
    html = client_as(secretariat).get(reverse("reports:reminder-log")).content.decode()
    assert "市医保局" in html and "已送达" in html and "SMTPConnectError" in html and "站内信" in html
    filtered = (
        client_as(secretariat).get(reverse("reports:reminder-log"), {"status": "failed"}).content.decode()
    )
    assert filtered.count('data-testid="delivery"') == 1


def test_the_reminder_log_explains_a_bad_filter(reminded, secretariat, client_as):
    html = client_as(secretariat).get(reverse("reports:reminder-log"), {"since": "昨天"}).content.decode()
    assert "起始日期" in html and "不是有效日期" in html


@pytest.mark.parametrize("who", ["reporter", "leader"])
def test_only_the_secretariat_may_see_the_log_or_send_reminders(reminded, request, client_as, who):
    user = request.getfixturevalue(who)
    assert client_as(user).get(reverse("reports:reminder-log")).status_code == 403
    assert client_as(user).post(reverse("reports:remind-unit"), {"unit": "1"}).status_code == 403


def test_anonymous_users_are_sent_to_login_from_the_log(client):
    response = client.get(reverse("reports:reminder-log"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_secretariat_reminds_a_unit_by_hand(ledger, secretariat, reporter, unit_a, client_as, period):
    response = client_as(secretariat).post(
        reverse("reports:remind-unit"),
        {"unit": unit_a.pk, "period": period.pk, "escalation": "0", "message": ""},
    )
    assert response.status_code == 302
    reminder = Reminder.objects.get(kind="manual")
    assert reminder.unit == unit_a and reminder.created_by == secretariat
    assert "尚有 2 项任务进展未提交" in reminder.message
    assert reporter.notifications.get().kind == "manual"
    assert AuditEntry.objects.filter(action="reminder_manual", actor=secretariat).exists()
    # A second 催报 is a new reminder, not a duplicate of the first.
    client_as(secretariat).post(
        reverse("reports:remind-unit"), {"unit": unit_a.pk, "message": "请今天下班前报送"}
    )
    assert Reminder.objects.filter(kind="manual").count() == 2
    assert reporter.notifications.filter(message="请今天下班前报送").exists()


def test_the_manual_reminder_form_says_what_is_wrong(ledger, secretariat, client_as):
    response = client_as(secretariat).post(reverse("reports:remind-unit"), {"unit": "", "message": "x"})
    assert response.status_code == 400
    assert "请选择要催报的单位" in response.content.decode()
    response = client_as(secretariat).post(reverse("reports:remind-unit"), {"unit": "999999"})
    assert response.status_code == 400
    response = client_as(secretariat).get(reverse("reports:remind-unit"))
    assert response.status_code == 200 and "发送催报" in response.content.decode()
    assert not Reminder.objects.exists()


def test_the_notifications_api_lists_only_my_own(reminded, reporter, outsider, api_as):
    body = api_as(reporter).get("/api/notifications/").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert set(item) >= {"id", "kind", "message", "created_at", "read"}
    assert item["kind"] == "period_before" and item["read"] is False
    assert api_as(outsider).get("/api/notifications/").json()["count"] == 1
    assert api_as(outsider).get("/api/notifications/").json()["results"][0]["id"] != item["id"]


def test_the_api_marks_a_notification_read(reminded, reporter, outsider, api_as):
    note = reporter.notifications.get()
    assert api_as(outsider).post(f"/api/notifications/{note.pk}/read/").status_code == 404
    response = api_as(reporter).post(f"/api/notifications/{note.pk}/read/")
    assert response.status_code == 200 and response.json()["read"] is True
    assert Notification.objects.get(pk=note.pk).read
    assert api_as(reporter).get("/api/notifications/?unread=true").json()["count"] == 0


def test_the_notifications_api_needs_authentication(api_client):
    assert api_client.get("/api/notifications/").status_code in (401, 403)
