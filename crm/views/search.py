"""The header search across leads, contacts, companies and deals the user may see."""

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from crm.access import visible
from crm.models import Company, Contact, Deal, Lead
from crm.search import search
from crm.timeline import record_url

PER_TYPE = 10
PREVIEW_PER_TYPE = 5
MAX_TERM = 100

GROUPS = [
    ("leads", Lead, _("Leads"), ("owner",)),
    ("contacts", Contact, _("Contacts"), ("company",)),
    ("companies", Company, _("Companies"), ()),
    ("deals", Deal, _("Deals"), ("company", "stage")),
]


def search_results(user, term: str, *, per_type: int = PER_TYPE) -> list[dict]:
    """One query per record type: the best matches the user may see."""
    groups = []
    for key, model, title, related in GROUPS:
        rows = list(search(visible(model, user), term).select_related(*related)[:per_type])
        for row in rows:
            row.url = record_url(row)
        groups.append({"key": key, "title": title, "rows": rows, "full": len(rows) >= per_type})
    return groups


def search_page(request):
    term = " ".join(request.GET.get("q", "").split())[:MAX_TERM]
    preview = bool(request.htmx and request.GET.get("preview"))
    per_type = PREVIEW_PER_TYPE if preview else PER_TYPE
    groups = search_results(request.user, term, per_type=per_type) if term else []
    context = {
        "section": "search",
        "q": term,
        "groups": groups,
        "found": any(group["rows"] for group in groups),
        "per_type": per_type,
    }
    if preview:
        return render(request, "crm/search/_results.html", context)
    return render(request, "crm/search/results.html", context)


OPTION_MODELS = {"company": Company, "contact": Contact}
OPTIONS_LIMIT = 20


def search_options(request, record_type: str):
    """Matches for a SearchSelect as JSON: [{"id": 1, "label": "Acme"}], visible rows only."""
    model = OPTION_MODELS.get(record_type)
    if model is None:
        raise Http404
    term = " ".join(request.GET.get("q", "").split())[:MAX_TERM]
    rows = search(visible(model, request.user), term)[:OPTIONS_LIMIT] if term else []
    return JsonResponse({"results": [{"id": row.pk, "label": str(row)} for row in rows]})
