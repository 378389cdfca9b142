from django import template

from exports.sources import WHOLE_TYPES

register = template.Library()


@register.simple_tag
def export_types() -> list[tuple[str, str]]:
    """(record type, its plural name) of each type the settings area exports whole."""
    return [(key, model._meta.verbose_name_plural) for key, model in WHOLE_TYPES.items()]
