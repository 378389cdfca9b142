"""Activity logging and the timeline's "show more", both on a record's panels."""

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from crm import services
from crm.forms.activities import ActivityForm
from crm.redirects import redirect_to
from crm.timeline import (
    back_to,
    get_record_for_user,
    parse_cursor,
    record_panels,
    timeline_entries,
    timeline_url,
)

# What a change made from the panels may move elsewhere on a record's page (logging the first
# call sets a lead's first response and status): sent along for htmx to swap out of band.
OUT_OF_BAND = {"lead": "crm/leads/_panels_oob.html"}


def render_panels(request, record, *, status=200, **extra):
    """The panels again, after a change: htmx swaps them in; a plain post sees them alone."""
    context = record_panels(request, record, **extra)
    if request.htmx:
        # htmx leaves 4xx answers unswapped, so errors come back as 200 with the form.
        response = render(request, "crm/_record_panels.html", context)
        extra_parts = OUT_OF_BAND.get(context["panel_type"])
        if extra_parts:
            record.refresh_from_db()  # the service changed its own copy
            response.content += render_to_string(
                extra_parts, {context["panel_type"]: record}, request
            ).encode()
        return response
    context["panels_only"] = True
    return render(request, "crm/_timeline_page.html", context, status=status)


@require_POST
def activity_log(request, record_type: str, pk: int):
    record = get_record_for_user(request.user, record_type, pk, write=True)
    form = ActivityForm(request.POST, auto_id=f"id_{record_type}{record.pk}_%s")
    if form.is_valid():
        try:
            services.activity_log(
                actor=request.user, **form.service_kwargs(), **{record_type: record}
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if not request.htmx:
                return redirect_to(back_to(request, record))
            return render_panels(request, record)
    return render_panels(request, record, activity_form=form, status=400)


@require_GET
def timeline(request, record_type: str, pk: int):
    record = get_record_for_user(request.user, record_type, pk)
    entries, cursor = timeline_entries(
        record, request.user, before=parse_cursor(request.GET.get("before"))
    )
    context = {"timeline": entries, "timeline_more_url": timeline_url(record, cursor)}
    return render(request, "crm/_timeline_entries.html", context)
