"""Every API error is JSON: field errors for bad input, a ``detail`` otherwise."""

from django.core.exceptions import RequestDataTooBig, ValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from microblog.errors import ServiceUnavailable
from microblog.posts.media import FileTooLarge


def exception_handler(exc, context):
    if isinstance(exc, FileTooLarge):
        return Response(exc.message_dict, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, ValidationError):
        data = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, ServiceUnavailable):
        return Response(
            {"detail": exc.message},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(exc.retry_after)},
        )
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == 429 and "Retry-After" not in response:
        wait = getattr(exc, "wait", None)
        response["Retry-After"] = str(int(wait or 60))
    return response
