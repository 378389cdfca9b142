from django import template

from crm.money import format_money, format_number

register = template.Library()


@register.filter
def money(amount, currency: str = "") -> str:
    """{{ deal.amount|money:deal.currency }}: the amount as the active language writes money."""
    return format_money(amount, currency or None)


@register.filter
def number(value, decimals: int = 0) -> str:
    """{{ count|number }}: grouped as the active language groups thousands."""
    return format_number(value, int(decimals))
