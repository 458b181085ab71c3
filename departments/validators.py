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
