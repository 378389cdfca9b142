"""crm.choices.choice_label, and get_FOO_display() on the models that read their labels from it,
say what Django's own get_FOO_display() says, in the reader's language, without building the
field's choices again for each row."""

import pytest
from django.apps import apps
from django.db import models
from django.utils import translation

from crm.choices import choice_label


def _choice_fields():
    for model in apps.get_app_config("crm").get_models():
        for field in model._meta.concrete_fields:
            if field.choices:
                yield model, field


@pytest.mark.parametrize("language", ["en", "pt-br", "es"])
def test_every_choice_reads_as_get_display_does(language):
    checked = 0
    with translation.override(language):
        for model, field in _choice_fields():
            for value, _label in field.flatchoices:
                record = model(**{field.attname: value})
                djangos = models.Model._get_FIELD_display(record, field)
                display = getattr(record, f"get_{field.name}_display")()
                assert choice_label(record, field.name) == djangos, (model, field.name, value)
                assert display == djangos, (model, field.name, value)
                checked += 1
    assert checked > 20


def test_a_value_not_among_the_choices_reads_as_itself():
    from crm.models import Deal

    assert choice_label(Deal(status="unheard-of"), "status") == "unheard-of"
    assert Deal(status="unheard-of").get_status_display() == "unheard-of"


def test_a_label_follows_the_language_switched_to():
    from crm.models import Deal, DealStatus

    won = Deal(status=DealStatus.WON)
    with translation.override("en"):
        english = choice_label(won, "status")
    with translation.override("pt-br"):
        portuguese = choice_label(won, "status")
    assert english == "Won" and portuguese != english
