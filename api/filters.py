"""Filters shared by the API's FilterSets."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment, given to the database in UTC. Python accepts offsets up to ±23:59
    and PostgreSQL only up to ±15:59, so a moment is passed on in UTC, never with the offset
    it was written with."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None or timezone.is_naive(moment):
            return moment
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError(_("Enter a moment between the years 1 and 9999.")) from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
