from django import template

from crm.access import may_import

register = template.Library()


@register.inclusion_tag("imports/_import_link.html", takes_context=True)
def import_link(context, record_type: str):
    """The list toolbar's "Import" button, for users who may import that record type."""
    user = context["request"].user
    return {"record_type": record_type, "shown": may_import(user, record_type)}
