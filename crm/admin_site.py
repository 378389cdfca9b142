"""The admin site: Django's, refusing two query strings its own pages fail on.

Installed as the default site (INSTALLED_APPS names `crm.admin_site.AdminConfig` instead of
`django.contrib.admin`), so every registered model's pages, ours and other apps', go through
`admin_view` below.
"""

from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.contrib.admin.options import TO_FIELD_VAR
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _


class AdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        # The add page of a model (a bound ModelAdmin.add_view) prefills from the query.
        add_page = getattr(view, "__name__", "") == "add_view"
        model_admin = getattr(view, "__self__", None)

        @wraps(view)
        def checked(request, *args, **kwargs):
            # Django's change and delete pages skip the `_to_field` check when it is empty,
            # then look up a field named '' (a server error).
            if request.GET.get(TO_FIELD_VAR, None) == "":
                return HttpResponseBadRequest(_("The _to_field parameter is empty."))
            if add_page and isinstance(model_admin, admin.ModelAdmin) and request.method == "GET":
                unknown = _prefill_naming_no_row(model_admin, request.GET)
                if unknown:
                    return HttpResponseBadRequest(
                        _("%(field)s names no record.") % {"field": unknown}
                    )
            return view(request, *args, **kwargs)

        # Checked once the site let the user in: a visitor is sent to log in first.
        return super().admin_view(checked, cacheable)


def _prefill_naming_no_row(model_admin, query) -> str | None:
    """The first relation the query prefills (`?company=3` on an add page) with a value naming
    no row: the autocomplete widget would query with it as is and fail on a non-number."""
    opts = model_admin.model._meta
    for name, value in query.items():
        try:
            field = opts.get_field(name)
        except FieldDoesNotExist:
            continue
        if not (field.is_relation and field.concrete) or field.one_to_many:
            continue
        values = value.split(",") if field.many_to_many else [value]
        if value and not all(_names_a_row(field, item) for item in values):
            return name
    return None


def _names_a_row(field, value: str) -> bool:
    target = field.target_field
    try:
        key = target.to_python(value)
    except ValidationError:
        return False
    # An out-of-range integer matches nothing (Django turns the lookup into an empty result).
    return field.related_model._default_manager.filter(**{target.name: key}).exists()


class AdminConfig(DjangoAdminConfig):
    default_site = "crm.admin_site.AdminSite"
