from django.core.exceptions import ValidationError


class InvalidTransition(ValidationError):
    """A state change the record's rules do not allow; nothing was written."""
