"""The data-quality page and the team scores card of the executive dashboard (issue 17).

Managers and admins only (crm.access.ROUTE_PERMISSIONS); each reads the records they see.
"""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import quality
from .numbers import Reader


@require_safe
def quality_page(request):
    quality.note_read(request.user)
    reader = Reader()
    counts = quality.counts(request.user, reader=reader)
    rows = [(check, counts[key]) for key, check in quality.CHECKS.items()]
    context = {
        "section": "data-quality",
        "rows": rows,
        "flawed_total": sum(counts.values()),
        "scores": quality.team_scores(request.user, reader=reader),
    }
    key = request.GET.get("check", "")
    if key:
        context.update(_records_context(request, key, counts, reader))
    return render(request, "metrics/quality/page.html", context)


def _records_context(request, key: str, counts: dict[str, int], reader: Reader) -> dict:
    check = quality.CHECKS.get(key)
    if check is None:
        raise Http404
    person = check.person_field
    # The count the page shows for the check and the page's keys, both cached: counting the
    # rows again, and finding a page of duplicates, grouped every lead's email on each view.
    paginator = Paginator(range(counts[key]), quality.PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    # A check that flags none of the reader's records lists none without a query: looking for
    # its first page read every record newest first (0.75 s for the closed tickets never
    # answered on the large seed, where there are none).
    keys = (
        quality.page_keys(check, request.user, page.number, reader=reader)
        if paginator.count
        else []
    )
    records = check.model._default_manager.filter(pk__in=keys).select_related(person, "team")
    items = [
        {
            "record": record,
            "url": check.record_url(record),
            "person": getattr(record, person),
        }
        for record in records.order_by("-created_at", "-pk")
    ]
    return {"check": check, "page_obj": page, "items": items}


@require_safe
def quality_card(request):
    """The dashboard's card: each team's score, linking to the page."""
    quality.note_read(request.user)
    scores = quality.team_scores(request.user)
    return render(request, "metrics/quality/_card.html", {"scores": scores})
