"""Request hygiene that every page and API call shares."""

from django.http import HttpResponseBadRequest, JsonResponse

NUL_MESSAGE = "请求参数中含有不允许的空字符（\\x00），已拒绝。"


class RejectNulCharactersMiddleware:
    """A NUL character in the path or a query parameter can never be valid input, and PostgreSQL refuses it in
    any string literal (a 500 deep inside a filter). Answer 400 with a message before any view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in k or any("\x00" in v for v in vs) for k, vs in request.GET.lists()
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": NUL_MESSAGE}, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class RequestContextMiddleware:
    """Makes the request being served known to code that has no request argument (the audit trail's source
    address for actions deep inside services). Reset after the response so nothing leaks to the next request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .db import current_request

        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)
