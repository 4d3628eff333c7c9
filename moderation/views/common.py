from django.contrib import messages
from django.core.exceptions import ValidationError


def form_errors(form, exc: ValidationError) -> None:
    """Put a service-layer ValidationError onto a form, field by field where possible."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def flash_errors(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def int_param(request, name: str, default=None):
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({name: "Must be a whole number."}) from None
