"""One shape for every refused request: `{"detail": "...", "errors": {"field": ["msg", ...]}}`.

DRF's own errors, Django's ValidationError raised by a service (its message is the service's
own) and 404/403 all answer in that shape; `errors` is empty when no field is to blame.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


def _messages(value) -> list | dict:
    """DRF's error details as plain strings, keeping nested objects (a `custom` field's keys)."""
    if isinstance(value, dict):
        return {str(key): _messages(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_messages(item) if isinstance(item, dict) else str(item) for item in value]
    return [str(value)]


def django_errors(error: DjangoValidationError) -> dict:
    if hasattr(error, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): [
                str(message) for message in messages
            ]
            for field, messages in error.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: [str(message) for message in error.messages]}


def error_body(detail: str, errors: dict | None = None) -> dict:
    return {"detail": detail, "errors": errors or {}}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        errors = django_errors(exc)
        first = next(iter(errors.values()), [_("Invalid input.")])
        return Response(error_body(first[0], errors), status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real server error: let Django report it
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        errors = (
            _messages(detail)
            if isinstance(detail, dict)
            else {api_settings.NON_FIELD_ERRORS_KEY: _messages(detail)}
        )
        response.data = error_body(str(_("Invalid input.")), errors)
    else:
        data = response.data
        detail = data.get("detail") if isinstance(data, dict) else data
        response.data = error_body(str(detail))
    return response
