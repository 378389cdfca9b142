"""Money and numbers as the active language writes them: "$1,234.56", "R$ 1.234,56",
"1.234,56 €" (CLDR's patterns through babel: the symbol's place, spacing and separators)."""

import copy
import functools
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.numbers import UnknownCurrencyError, format_currency, format_decimal
from django.conf import settings
from django.utils import translation


def active_locale() -> str:
    return _to_locale(translation.get_language() or settings.LANGUAGE_CODE)


_to_locale = functools.cache(translation.to_locale)


@functools.cache
def _locale(locale: str) -> Locale:
    # Parsed once per process: a board formats 300 amounts, and parsing the locale and
    # looking up its pattern for each was 40 % of babel's time.
    return Locale.parse(locale)


def format_money(amount, currency: str | None = None, *, decimals: int | None = None) -> str:
    """`amount` in `currency` (the installation's when None); `decimals` overrides the
    currency's own number of decimals (0 for KPI totals). "" for no amount."""
    number = _decimal(amount)
    if number is None:
        return ""
    currency = (currency or settings.CRM_CURRENCY).upper()
    locale = active_locale()
    try:
        if decimals is None:
            return format_currency(number, currency, locale=_locale(locale))
        return _pattern(locale, decimals).apply(
            number, _locale(locale), currency=currency, currency_digits=False
        )
    except UnknownCurrencyError:
        # A code CLDR does not know (a typo kept in old data) still shows, after the number.
        return f"{format_number(number, decimals if decimals is not None else 2)} {currency}"


def format_number(value, decimals: int = 0) -> str:
    """A number for reading, grouped, with exactly `decimals` decimals."""
    number = _decimal(value)
    if number is None:
        return ""
    places = "0" if decimals == 0 else "0." + "0" * decimals
    return format_decimal(number, format=f"#,##{places}", locale=_locale(active_locale()))


def format_percent(value, decimals: int = 1) -> str:
    """A percentage (12.5 for 12.5 %) with the language's sign and spacing: "12.5%", "12,5 %"."""
    number = _decimal(value)
    if number is None:
        return ""
    locale = active_locale()
    return _pattern(locale, decimals, "percent").apply(number / 100, _locale(locale))


@functools.cache
def _pattern(locale: str, decimals: int, kind: str = "currency"):
    formats = _locale(locale)
    standard = formats.currency_formats if kind == "currency" else formats.percent_formats
    pattern = copy.copy(standard["standard"] if kind == "currency" else standard[None])
    pattern.frac_prec = (decimals, decimals)
    return pattern


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
