"""Reactions of the reports app to events of the apps below it (signals keep the import direction downward)."""

from django.dispatch import receiver
from django.urls import reverse

from departments.accounts import password_reset_by_other

from .models import Notification


@receiver(password_reset_by_other, dispatch_uid="reports.receivers.password_reset_notice")
def _password_reset_notice(sender, user, actor, **kwargs):
    Notification.objects.create(
        user=user,
        kind="security",
        message=f"您的账号密码已由 {actor}（{actor.get_username()}）重置。下次登录须先设置新密码；"
        "如果不是您本人要求的，请立即联系医改办和安全审计员。",
        link=reverse("departments:password-change"),
    )
