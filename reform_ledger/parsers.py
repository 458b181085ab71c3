"""Request parsers. Apart from reform_ledger.drf because rest_framework.views reads DEFAULT_PARSER_CLASSES when it
is imported, and reform_ledger.drf imports rest_framework.views."""

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class ObjectJSONParser(JSONParser):
    """Every endpoint takes a JSON object. `null`, `1`, `"x"` or a list as the whole body is refused here with a
    Chinese message, instead of reaching a view that calls `.get()` on it (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except exceptions.ParseError:
            raise exceptions.ParseError("请求内容不是有效的 JSON。") from None
        if not isinstance(data, dict):
            raise exceptions.ParseError('请求内容应为 JSON 对象（{…}），例如 {"due_date": "2026-12-20"}。')
        return data
