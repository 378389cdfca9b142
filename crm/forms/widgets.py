"""A select for a foreign key to a big table (companies, contacts): the page carries only the
chosen option; the browser fetches matches from the search endpoint as the user types."""

from django import forms
from django.urls import reverse
from django.utils.translation import gettext as _

# The largest id a database key holds (a bigint): a bigger posted number matches no row, and
# SQLite and PostgreSQL refuse it in a query as an error instead.
MAX_ID = 2**63 - 1


class SearchSelect(forms.Select):
    """Renders only the selected option and `data-search-url` for static/js/search_select.js.

    The form field keeps its full (visible) queryset, so validation still checks that the
    chosen record exists and may be linked.
    """

    def __init__(self, record_type: str, attrs=None):
        super().__init__(attrs)
        self.record_type = record_type

    def get_context(self, name, value, attrs):
        attrs = dict(attrs or {})
        attrs["data-search-url"] = reverse("search-options", args=[self.record_type])
        attrs["data-search-placeholder"] = _("Type to search…")
        return super().get_context(name, value, attrs)

    def optgroups(self, name, value, attrs=None):
        chosen = {str(v) for v in value if v not in (None, "")}
        groups = []
        for index, (option_value, label) in enumerate(self._chosen_choices(chosen)):
            selected = str(option_value) in chosen
            option = self.create_option(name, option_value, label, selected, index, attrs=attrs)
            groups.append((None, [option], index))
        return groups

    def _chosen_choices(self, chosen: set[str]):
        choices = self.choices
        queryset = getattr(choices, "queryset", None)
        if queryset is None:
            return [(v, label) for v, label in choices if str(v) in chosen or v == ""]
        ids = [pk for pk in chosen if pk.isdigit() and int(pk) <= MAX_ID]
        rows = queryset.filter(pk__in=ids) if ids else []
        return [("", "---------")] + [(choices.choice(row)[0], str(row)) for row in rows]
