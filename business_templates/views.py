"""The admins' page of business templates (/settings/templates/): the list, a preview of what
one would add, and the POST that applies it. Admins only: the routes are in
crm.access.ROUTE_PERMISSIONS and each view checks `admin_only` again, as the settings pages do.
"""

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from automations.catalog import References
from crm.views.settings import admin_only

from .loader import TemplateError, available, language_of, load
from .models import AppliedItem
from .services import Status, template_apply, template_plan


def _page(request, template: str, context: dict, *, status: int = 200):
    return render(
        request,
        f"business_templates/{template}",
        {"section": "settings", "settings_page": "templates", **context},
        status=status,
    )


def _installation_language() -> str:
    return language_of(settings.LANGUAGE_CODE)


@admin_only
def template_list(request):
    language = _installation_language()
    rows, broken = [], []
    refs = References()
    applied = dict(AppliedItem.objects.values_list("template").annotate(n=Count("id")).order_by())
    for key in available():
        try:
            template = load(key, refs=refs)
        except TemplateError as error:
            broken.append(error)
            continue
        rows.append(
            {
                "key": key,
                "name": template.text("name", language),
                "description": template.text("description", language)
                if "description" in template.data
                else "",
                "applied": applied.get(key, 0),
            }
        )
    return _page(request, "list.html", {"templates": rows, "broken": broken})


@admin_only
def template_detail(request, slug: str):
    """GET: the preview (nothing written). POST: apply, then back to the preview."""
    if slug not in available():
        raise Http404
    language = _installation_language()
    try:
        template = load(slug)
        if request.method == "POST":
            plan = template_apply(template=template, language=language, actor=request.user)
            added = plan.with_status(Status.ADDED)
            messages.success(
                request,
                ngettext(
                    "%(count)d item added: %(names)s.",
                    "%(count)d items added: %(names)s.",
                    len(added),
                )
                % {"count": len(added), "names": ", ".join(item.label for item in added)}
                if added
                else _("Nothing to add: everything in this template is already there."),
            )
            return redirect("settings-template", slug=slug)
        plan = template_plan(template=template, language=language, actor=request.user)
    except TemplateError as error:
        return _page(request, "refused.html", {"slug": slug, "error": error}, status=400)
    return _page(
        request,
        "detail.html",
        {
            "slug": slug,
            "name": template.text("name", language),
            "description": template.text("description", language)
            if "description" in template.data
            else "",
            "plan": plan,
            "to_add": plan.with_status(Status.TO_ADD),
            "present": plan.with_status(Status.PRESENT),
            "removed": plan.with_status(Status.REMOVED),
            "history": AppliedItem.objects.filter(template=slug).select_related("applied_by"),
        },
    )
