import time

from webforms import services
from webforms.models import FormKind
from webforms.spam import issue_token


def make_form(*, name="Contact us", kind=FormKind.LEAD, extra_fields=(), **settings):
    """A form with the built-in fields of its kind (and `extra_fields` rows), saved."""
    webform = services.webform_new(name=name, kind=kind)
    for attribute, value in settings.items():
        setattr(webform, attribute, value)
    rows = [
        {
            "target": field.target,
            "required": field.required,
            "labels": field.labels,
            "help_texts": field.help_texts,
        }
        for field in webform.fields.all()
    ]
    return services.webform_save(form=webform, fields=[*rows, *extra_fields])


def aged_token(webform, seconds=30) -> str:
    """The token of a page opened `seconds` ago."""
    return issue_token(webform.pk, issued_at=time.time() - seconds)
