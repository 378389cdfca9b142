"""The browsable API (what a person visiting /api/ in a browser sees), with each link to
another record asked for as an id, as the JSON API takes it."""

from rest_framework import renderers, serializers
from rest_framework.utils.field_mapping import ClassLookupDict


class IdLinkFormRenderer(renderers.HTMLFormRenderer):
    """DRF's form renderer, with a number box for a link to a record where DRF draws a list of
    up to 1,000 of them: reading the first thousand contacts a user sees, in name order,
    took 37 s on a deal's page of a large installation (an admin's), and a second per page of
    the tasks as an agent. What may be linked is checked when the form is sent, as always."""

    default_style = ClassLookupDict(
        {
            **renderers.HTMLFormRenderer.default_style.mapping,
            serializers.RelatedField: {"base_template": "input.html", "input_type": "number"},
        }
    )


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    form_renderer_class = IdLinkFormRenderer
