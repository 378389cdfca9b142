"""Money, numbers and percentages as the reader's language writes them (crm.money), read from
babel's patterns parsed once per process."""

from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from django.utils import translation

from crm.money import format_money, format_number, format_percent

LANGUAGES = [code for code, _name in settings.LANGUAGES]
AMOUNTS = ["0", "0.5", "1234.56", "-98765.4321", "1000000", "12.005"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_money_reads_as_babel_writes_it_in_every_language(language):
    locale = translation.to_locale(language)
    with translation.override(language):
        for amount in AMOUNTS:
            for currency in ("USD", "EUR", "BRL", "JPY"):
                expected = format_currency(Decimal(amount), currency, locale=locale)
                assert format_money(amount, currency) == expected, (amount, currency)
            assert format_number(amount, 2) == format_decimal(
                Decimal(amount), format="#,##0.00", locale=locale
            )


def test_money_by_hand():
    with translation.override("en"):
        assert format_money("1234.5", "USD") == "$1,234.50"
        assert format_money("1234.5", "USD", decimals=0) == "$1,234"
        assert format_percent("12.5") == "12.5%"
        assert format_money(None) == "" and format_money("not a number") == ""
    with translation.override("pt-br"):
        assert format_money("1234.5", "BRL") == "R$\xa01.234,50"
        assert format_percent("12.5") == "12,5%"
