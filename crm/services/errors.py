from django.core.exceptions import ValidationError


class InvalidTransition(ValidationError):
    """A state change the record's rules do not allow; nothing was written."""


class RecordInUse(ValidationError):
    """A delete refused because other rows' history points at the record; nothing was written."""
