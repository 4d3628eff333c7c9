"""Request ids carried from HTTP into logs and the Celery tasks a request causes.

Each request gets an id (the incoming ``X-Request-ID`` when it looks sane, else a new one).
Log records carry it, the response echoes it, and tasks published during the request
carry it in their headers, so one grep follows a post from the API to its verdict.
"""

import contextvars
import logging
import re
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HEADER = "X-Request-ID"


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        request.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


@before_task_publish.connect
def _add_request_id_to_task(headers=None, **kwargs) -> None:
    if headers is not None and "request_id" not in headers:
        headers["request_id"] = request_id_var.get()


_task_tokens: dict[str, contextvars.Token] = {}


@task_prerun.connect
def _restore_request_id(task_id=None, task=None, **kwargs) -> None:
    request_id = getattr(task.request, "request_id", None) or (task.request.headers or {}).get("request_id")
    if request_id:
        _task_tokens[task_id] = request_id_var.set(request_id)


@task_postrun.connect
def _forget_request_id(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)
