"""Formatting of KPI values, and the two partials other pages include (company health card,
"My numbers" on the home page): each tag loads what it shows, so the including page needs
nothing but the context it already has."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext as _

from crm.money import format_money, format_number, format_percent

from ..dashboards import MY_DAY_CARDS, build_cards, own_segment
from ..health import component_labels, health_for_company, weights_and_threshold
from ..periods import period_for, period_name

register = template.Library()

NO_DATA = "—"


@register.filter
def period_words(period) -> str:
    """A period in the reader's language: "October 2026", "Q3 2026", "Nov 3, 2026 – Nov 9, 2026"."""
    return period_name(period)


@register.filter
def kpi_format(value, unit: str = "") -> str:
    """A KPI value for the screen in its unit; "—" for no data (never 0)."""
    if value is None or value == "":
        return NO_DATA
    number = Decimal(str(value))
    if unit == "percent":
        return format_percent(number)
    if unit == "money":
        return format_money(number, decimals=0)
    if unit == "hours":
        return _("%(n)s h") % {"n": format_number(number, 1)}
    if unit == "days":
        return _("%(n)s d") % {"n": format_number(number, 1)}
    if unit == "count":
        return format_number(number)
    if unit == "ratio":
        return f"{format_number(number, 2)}×"
    return format_number(number, 1)


@register.filter
def kpi_delta(value, unit: str = "") -> str:
    """A signed change: percentage points for percentages."""
    if value is None:
        return NO_DATA
    number = Decimal(str(value))
    sign = "+" if number > 0 else ("−" if number < 0 else "±")
    magnitude = abs(number)
    if unit == "percent":
        return _("%(sign)s%(n)s pts") % {"sign": sign, "n": format_number(magnitude, 1)}
    return sign + kpi_format(magnitude, unit)


@register.filter
def plain_number(value) -> str:
    """Numerator/denominator: integers without decimals, others with up to two."""
    if value is None:
        return NO_DATA
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return format_number(number)
    return format_number(number, 2)


@register.inclusion_tag("metrics/_health_card.html")
def company_health(company):
    row = health_for_company(company) if company is not None and company.pk else None
    weights, threshold = weights_and_threshold()
    labels = component_labels()
    components = []
    if row is not None:
        components = [
            {
                "label": labels[name],
                "value": getattr(row, name),
                "weight": weights.get(name, 0),
            }
            for name in row.COMPONENTS
        ]
    return {"health": row, "components": components, "threshold": threshold}


# A support agent's numbers on My day: how their own tickets went this month.
MY_DAY_SUPPORT_CARDS = ["csat", "first_response_hours", "resolution_hours", "sla_breach_rate"]


@register.inclusion_tag("metrics/_my_numbers_card.html", takes_context=True)
def my_numbers(context):
    return _own_cards(context, MY_DAY_CARDS)


@register.inclusion_tag("metrics/_my_numbers_card.html", takes_context=True)
def my_support_numbers(context):
    return _own_cards(context, MY_DAY_SUPPORT_CARDS)


def _own_cards(context, keys: list[str]) -> dict:
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"cards": []}
    from django.utils import timezone

    period = period_for("month", timezone.localdate())
    cards = build_cards(keys, period, own_segment(user))
    return {"cards": cards, "period": period, "comparison_labels": _one_card_per_label(cards)}


def _one_card_per_label(cards) -> list:
    """A card for each different comparison, to say once what the changes compare with (a
    balance compares with the end of last month, the rest with its same days)."""
    seen, chosen = set(), []
    for card in cards:
        label = card.comparison.label if card.comparison else None
        if label is not None and (label, card.kpi.as_of_end) not in seen:
            seen.add((label, card.kpi.as_of_end))
            chosen.append(card)
    return chosen
