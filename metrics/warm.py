"""Keep the ready-made dashboards warm: after records change, their cards and charts for the
running month are computed in the background (metrics.warm_dashboards, every
WARM_EVERY_SECONDS), so the first manager to open a dashboard reads them from the cache
instead of waiting seconds for them on a large installation (issue 19). So are the data-quality
page's counts and team scores, for each manager's people and teams and for the admins.

The values are the same a page would compute (metrics.numbers.Reader, the same cache keys),
so warming never changes a number, only when it is computed. Runs only when the versions of
the records, or the day, moved since the last warm-up, and only where the cache is shared by
the worker and the web processes (CRM_WARM_DASHBOARDS, on with REDIS_URL).
"""

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation

from crm.models import User

from . import charts, quality
from .dashboards import READY_MADE, build_cards
from .numbers import Reader
from .periods import period_for
from .registry import ALL, REGISTRY

LAST_WARMED_KEY = "metrics:warmed-versions"
# One warm-up at a time: a slow one is not joined by the next beat's.
WARMING_KEY = "metrics:warming"
WARMING_SECONDS = 10 * 60
# Longer than the beat interval: a lost key only costs one warm-up more.
LAST_WARMED_SECONDS = 24 * 60 * 60


def warm_dashboards() -> int:
    """Compute every company-wide ready-made dashboard of the running month, charts in each
    language its readers use; returns the dashboards warmed (0 when nothing changed)."""
    if not settings.CRM_WARM_DASHBOARDS:
        return 0
    reader = Reader()
    # The day too: a new day moves what the running month is compared with and the cache keys
    # of the months over, with no record changed.
    state = (reader.versions, reader.closed_version)
    if cache.get(LAST_WARMED_KEY) == state or not cache.add(WARMING_KEY, 1, WARMING_SECONDS):
        return 0
    try:
        return _warm(reader, state)
    finally:
        cache.delete(WARMING_KEY)


def _warm(reader: Reader, state: tuple) -> int:
    period = period_for("month", timezone.localdate())
    shared = [definition for definition in READY_MADE.values() if not definition.personal]
    for definition in shared:
        warm_parts(definition.cards, period, reader)
        build_cards(definition.cards, period, ALL, reader=reader)
    for language in readers_languages():
        with translation.override(language):
            for definition in shared:
                charts.build_many(definition.charts, period, ALL, reader=reader)
    quality.warm(reader)
    cache.set(LAST_WARMED_KEY, state, LAST_WARMED_SECONDS)
    return len(shared)


def warm_parts(keys: list[str], period, reader: Reader) -> None:
    """The parts by owner and team of the cards' KPIs, which a card of the whole company does
    not compute (Reader._live_value) but a rep's own card, a KPI page and its counts read."""
    for key in keys:
        if key in REGISTRY:
            reader.prepare_counts(REGISTRY[key], period)


def readers_languages() -> list[str]:
    """The site's language and every language an active user chose."""
    chosen = User.objects.filter(is_active=True).exclude(language="").values_list("language")
    return sorted({settings.LANGUAGE_CODE, *(language for (language,) in chosen.distinct())})
