"""Password rules beyond Django's own: variety of character kinds (等保 2.0 complexity requirement)."""

import string

from django.core.exceptions import ValidationError


class CharacterVarietyValidator:
    """At least `min_kinds` of: lower-case letters, upper-case letters, digits, symbols."""

    def __init__(self, min_kinds: int = 3):
        self.min_kinds = min_kinds

    @staticmethod
    def kinds(password: str) -> int:
        return sum(
            [
                any(c.islower() for c in password),
                any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() or c in string.punctuation for c in password),
            ]
        )

    def validate(self, password, user=None):
        if self.kinds(password or "") < self.min_kinds:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self):
        return f"密码须至少包含小写字母、大写字母、数字、符号中的 {self.min_kinds} 类。"


class MinimumLengthValidator:
    """Django's rule with a Chinese message (Django's own zh-hans catalogue lacks this one)."""

    def __init__(self, min_length: int = 10):
        self.min_length = min_length

    def validate(self, password, user=None):
        if len(password or "") < self.min_length:
            raise ValidationError(self.get_help_text(), code="password_too_short")

    def get_help_text(self):
        return f"密码太短，至少需要 {self.min_length} 个字符。"


def webhook_refusal(url: str) -> str | None:
    """Why a robot webhook address may not be used, or None. Only hosts on WEBHOOK_ALLOWED_HOSTS (default: the
    official 企业微信 and 钉钉 robot hosts) are called: otherwise whoever edits a unit could make the worker call
    any internal address (SSRF)."""
    from urllib.parse import urlsplit

    from django.conf import settings

    if not url:
        return None
    parts = urlsplit(url.strip())
    allowed = [h.lower() for h in getattr(settings, "WEBHOOK_ALLOWED_HOSTS", [])]
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Webhook 地址必须是 https:// 开头的完整网址。"
    if parts.hostname.lower() not in allowed:
        return f"Webhook 地址的主机“{parts.hostname}”不在允许列表中（允许：{'、'.join(allowed) or '无'}；由 WEBHOOK_ALLOWED_HOSTS 设置）。"
    if parts.scheme != "https" and parts.hostname.lower() not in getattr(
        settings, "WEBHOOK_ALLOW_HTTP_HOSTS", []
    ):
        return "Webhook 地址必须使用 https://。"
    return None


def validate_webhook_url(url: str) -> None:
    problem = webhook_refusal(url)
    if problem:
        raise ValidationError(problem, code="webhook_host")
