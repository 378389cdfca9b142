"""One row's cells turned into what the services take, with a message per column that cannot
be read. Nothing here writes; lookups (owners, companies, contacts) go through crm.access so a
row can only name what its importer may see and own."""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db.models import Q
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.translation import gettext as _

from crm import access
from crm.models import Company, Contact, Pipeline, Stage

from .kinds import CUSTOM_PREFIX, EXTERNAL_ID, Target

ISO_DATE = "%Y-%m-%d"
DAY_FIRST = "%d/%m/%Y"
# Formats a person's locale may use that are never read as anything but a date.
LOCALE_FORMAT_MARKERS = ("%d", "%m", "%Y")
LOOKUP_CACHE_SIZE = 5000
# An export writes text starting with these behind an apostrophe (formula injection): read
# back, the apostrophe goes, so an exported file imports as the values it was made from.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RowProblem(Exception):
    """A cell that cannot become a value; the message says what would."""


def date_formats(language: str) -> list[str]:
    """ISO, day-first with slashes, and the user's locale formats with a four-digit year."""
    formats = [ISO_DATE, DAY_FIRST]
    for candidate in get_format("DATE_INPUT_FORMATS", lang=language or None):
        if all(marker in candidate for marker in LOCALE_FORMAT_MARKERS):
            if candidate not in formats:
                formats.append(candidate)
    return formats


def parse_date(value, formats: list[str]) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    found = set()
    for pattern in formats:
        try:
            found.add(datetime.strptime(text, pattern).date())
        except ValueError:
            continue
    if not found:
        try:
            # An ISO date with a time ("2025-03-04 00:00:00", as spreadsheets write dates).
            found.add(datetime.fromisoformat(text).date())
        except ValueError:
            pass
    if len(found) == 1:
        return found.pop()
    if found:
        raise RowProblem(
            _("“%(value)s” could be %(dates)s: write it as YYYY-MM-DD.")
            % {"value": text, "dates": _(" or ").join(sorted(d.isoformat() for d in found))}
        )
    raise RowProblem(
        _("“%(value)s” is not a date: write it as YYYY-MM-DD or DD/MM/YYYY.") % {"value": text}
    )


def parse_datetime(value, formats: list[str]) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = _date_and_time(text, formats)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _date_and_time(text: str, formats: list[str]) -> datetime:
    """“31/12/2025 09:30”: a date in any accepted format, then an optional time."""
    day, _space, clock = text.partition(" ")
    moment = datetime.combine(parse_date(day, formats), datetime.min.time())
    if not clock.strip():
        return moment
    for pattern in ("%H:%M", "%H:%M:%S"):
        try:
            parsed = datetime.strptime(clock.strip(), pattern).time()
        except ValueError:
            continue
        return datetime.combine(moment.date(), parsed)
    raise RowProblem(_("“%(value)s” is not a date and time.") % {"value": text})


def parse_decimal(value) -> Decimal:
    text = re.sub(r"[\s\u00a0]", "", str(value))
    text = re.sub(r"^[^\d\-+.,]+|[^\d.,]+$", "", text)  # a currency sign either side
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        text = text.replace(thousands, "").replace(decimal_mark, ".")
    elif text.count(",") == 1 and len(text.split(",")[1]) != 3:
        text = text.replace(",", ".")
    elif "," in text:
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowProblem(_("“%(value)s” is not a number.") % {"value": value}) from None
    if not number.is_finite():
        raise RowProblem(_("“%(value)s” is not a number.") % {"value": value})
    return number


def parse_integer(value) -> int:
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise RowProblem(_("“%(value)s” is not a whole number.") % {"value": value})
    return int(number)


def parse_choice(value, target: Target) -> str:
    text = str(value).strip().lower()
    for stored, label in target.choices:
        if text in (stored.lower(), label.lower()):
            return stored
    raise RowProblem(
        _("“%(value)s” is not one of: %(choices)s.")
        % {"value": value, "choices": ", ".join(label for _v, label in target.choices)}
    )


def phone_digits(value) -> str:
    return re.sub(r"\D", "", str(value or ""))


def bare_domain(value) -> str:
    text = str(value or "").strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/")[0]
    return text.removeprefix("www.")


class Lookups:
    """Names in a file resolved to the rows the importer may use, cached for the job."""

    def __init__(self, user, language: str):
        self.user = user
        self.dates = date_formats(language)
        self._cache: dict = {}

    def _cached(self, key, find):
        if key not in self._cache:
            if len(self._cache) > LOOKUP_CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = find()
        return self._cache[key]

    def person(self, value):
        """A teammate of the importer (or anyone active, for an admin) by login, email or
        name: a rep cannot give a record to someone whose records they do not see."""
        text = str(value).strip()

        def find():
            people = access.teammates(self.user).filter(is_active=True)
            match = people.filter(Q(username__iexact=text) | Q(email__iexact=text)).first()
            if match is None and " " in text:
                first, _space, last = text.partition(" ")
                match = people.filter(
                    first_name__iexact=first.strip(), last_name__iexact=last.strip()
                ).first()
            return match

        person = self._cached(("person", text.lower()), find)
        if person is None:
            raise RowProblem(
                _(
                    "“%(value)s” is not you or a member of your teams: records can only be given "
                    "to them."
                )
                % {"value": text}
            )
        return person

    def team(self, value):
        text = str(value).strip()
        team = self._cached(
            ("team", text.lower()),
            lambda: access.visible_teams(self.user).filter(name__iexact=text).first(),
        )
        if team is None:
            raise RowProblem(_("“%(value)s” is not one of your teams.") % {"value": text})
        return team

    def default_team(self, person):
        return self._cached(
            ("default-team", person.pk), lambda: person.teams.order_by("id").first()
        )

    def company(self, value):
        text = str(value).strip()

        def find():
            companies = access.visible(Company, self.user).order_by("pk")
            return (
                companies.filter(name__iexact=text).first()
                or companies.filter(domain__iexact=bare_domain(text)).exclude(domain="").first()
            )

        company = self._cached(("company", text.lower()), find)
        if company is None:
            raise RowProblem(_("No company you can see is called “%(value)s”.") % {"value": text})
        return company

    def contact(self, value):
        text = str(value).strip()
        contact = self._cached(
            ("contact", text.lower()),
            lambda: (
                access.visible(Contact, self.user)
                .filter(email__iexact=text)
                .exclude(email="")
                .order_by("pk")
                .first()
            ),
        )
        if contact is None:
            raise RowProblem(
                _("No contact you can see has the email “%(value)s”.") % {"value": text}
            )
        return contact

    def pipeline(self, value):
        text = str(value).strip()
        pipeline = self._cached(
            ("pipeline", text.lower()), lambda: Pipeline.objects.filter(name__iexact=text).first()
        )
        if pipeline is None:
            raise RowProblem(_("There is no pipeline called “%(value)s”.") % {"value": text})
        return pipeline

    def stage(self, value, pipeline):
        text = str(value).strip()
        pipeline = pipeline or self._cached(
            ("default-pipeline",), lambda: Pipeline.objects.filter(is_default=True).first()
        )
        stage = self._cached(
            ("stage", getattr(pipeline, "pk", None), text.lower()),
            lambda: Stage.objects.filter(pipeline=pipeline, name__iexact=text).first(),
        )
        if stage is None:
            raise RowProblem(
                _("The pipeline %(pipeline)s has no stage called “%(value)s”.")
                % {"pipeline": pipeline, "value": text}
            )
        return stage


class CleanRow:
    """A row read: `data` and `custom` for the service, the deal's pipeline and stage, the
    file's external id, and `errors` by target key."""

    def __init__(self):
        self.data: dict = {}
        self.custom: dict = {}
        self.extra: dict = {}
        self.external_id = ""
        self.errors: dict[str, str] = {}


def clean_row(cells: list, columns: list[tuple[int, Target]], lookups: Lookups) -> CleanRow:
    row = CleanRow()
    for index, target in columns:
        value = cells[index] if index < len(cells) else ""
        if isinstance(value, str):
            value = _unescaped(value.strip())
        if value in ("", None):
            continue
        try:
            _put(row, target, value, lookups)
        except RowProblem as problem:
            row.errors[target.key] = str(problem)
    if "stage" in row.extra or "pipeline" in row.extra:
        _resolve_stage(row, lookups)
    return row


def _unescaped(text: str) -> str:
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS and text[1:2] else text


def _put(row: CleanRow, target: Target, value, lookups: Lookups) -> None:
    if target.key == EXTERNAL_ID:
        row.external_id = str(value)[:255]
    elif target.kind == "custom":
        # Custom values are cleaned by crm.custom_fields in the service, as from a form;
        # dates are read here first, so every date column takes the same formats.
        row.custom[target.key.removeprefix(CUSTOM_PREFIX)] = _custom_value(target, value, lookups)
    elif target.kind in ("pipeline", "stage"):
        row.extra[target.kind] = value
    else:
        row.data[target.key] = _convert(target, value, lookups)


def _custom_value(target: Target, value, lookups: Lookups):
    field_type = target.custom.field_type
    if field_type == "date":
        return parse_date(value, lookups.dates).isoformat()
    if field_type == "datetime":
        return parse_datetime(value, lookups.dates)
    if field_type == "checkbox":
        return str(value).strip().lower() in ("1", "true", "yes", "x", "sim", "si", "sí", "vero")
    if field_type == "multi_select":
        return [part.strip() for part in re.split(r"[;,|]", str(value)) if part.strip()]
    if field_type in ("number", "money"):
        return str(parse_decimal(value))
    if field_type == "user":
        return lookups.person(value).pk
    return value if isinstance(value, str) else str(value)


def _convert(target: Target, value, lookups: Lookups):
    kind = target.kind
    if kind == "choice":
        return parse_choice(value, target)
    if kind == "decimal":
        return parse_decimal(value)
    if kind == "integer":
        return parse_integer(value)
    if kind == "date":
        return parse_date(value, lookups.dates)
    if kind == "datetime":
        return parse_datetime(value, lookups.dates)
    if kind == "user":
        return lookups.person(value)
    if kind == "team":
        return lookups.team(value)
    if kind == "company":
        return lookups.company(value)
    if kind == "contact":
        return lookups.contact(value)
    if kind == "email":
        return str(value).strip().lower()
    return value if isinstance(value, str) else str(value)


def _resolve_stage(row: CleanRow, lookups: Lookups) -> None:
    pipeline = None
    try:
        if "pipeline" in row.extra:
            pipeline = lookups.pipeline(row.extra["pipeline"])
            row.extra["pipeline"] = pipeline
        if "stage" in row.extra:
            row.extra["stage"] = lookups.stage(row.extra["stage"], pipeline)
    except RowProblem as problem:
        row.errors["stage" if "stage" in row.extra else "pipeline"] = str(problem)
