"""Rows through the services: the same path for the preview (rolled back) and the run.

Each batch is cleaned first, its duplicates looked up in one query, then each row is created
or updated by the record type's own service (events, history, custom-field validation as any
change), or skipped, or failed with a message per column.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError
from django.db.models import CharField, Value
from django.db.models.functions import Lower, Replace
from django.utils.translation import gettext as _

from crm import access, services
from crm.models import Company, Contact, Deal, Expense, Lead, Subscription, Task, Ticket
from crm.services.events import json_value, snapshot

from .cleaning import CleanRow, Lookups, bare_domain, clean_row, phone_digits
from .kinds import (
    CUSTOM_PREFIX,
    DOMAIN_FIELDS,
    EMAIL_FIELDS,
    NAME_FIELDS,
    PHONE_FIELDS,
    Target,
    has_custom_fields,
    kind_for,
    targets_for,
)
from .models import DuplicatePolicy, ImportJob, ImportRow, MatchKey, RowAction

AMBIGUOUS = object()
# Record types whose create service is the plain record_create: their new rows of a batch
# are written by records_create_many, one insert per table.
BULK_MODELS = (Company, Contact, Lead, Expense)
PHONE_PUNCTUATION = (" ", "-", "(", ")", "+", ".", "/")


@dataclass
class Outcome:
    line: int
    action: str
    record: object = None
    before: dict | None = None
    errors: dict = field(default_factory=dict)  # target key (or "") → message
    external_id: str = ""
    cells: list | None = None
    data: dict = field(default_factory=dict)


class RowWriter:
    """Everything a job's rows share: its columns, lookups, match key and policy."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.user = job.created_by
        self.kind = kind_for(job.record_type)
        self.model = self.kind.model
        targets = {target.key: target for target in targets_for(job.record_type)}
        self.columns: list[tuple[int, Target]] = [
            (int(index), targets[key]) for index, key in job.mapping.items() if key in targets
        ]
        self.targets = targets
        self.lookups = Lookups(self.user, job.language)
        self.with_custom = has_custom_fields(job.record_type) and any(
            t.kind == "custom" for t in targets.values()
        )

    # --- one batch ---------------------------------------------------------------------------

    def write_batch(self, rows: list[tuple[int, list]]) -> list[Outcome]:
        cleaned = [
            (line, cells, clean_row(cells, self.columns, self.lookups)) for line, cells in rows
        ]
        matches = self._find_matches([clean for _l, _c, clean in cleaned if not clean.errors])
        self._pending: list[tuple[Outcome, CleanRow]] = []
        outcomes = [self._write(line, cells, clean, matches) for line, cells, clean in cleaned]
        self._create_pending()
        return outcomes

    def _write(self, line: int, cells: list, clean: CleanRow, matches: dict) -> Outcome:
        outcome = Outcome(line=line, action=RowAction.FAILED, external_id=clean.external_id)
        outcome.cells = [_cell_text(cell) for cell in cells]
        outcome.data = clean.data
        if clean.errors:
            # Every problem of the row at once: the other columns' values checked as well.
            outcome.errors = {**self._field_errors(clean.data), **clean.errors}
            return outcome
        key = self._match_value(clean)
        existing = matches.get(key) if key else None
        policy = self.job.duplicate_policy
        if isinstance(existing, Outcome):  # an earlier row of this batch, not yet written
            if policy == DuplicatePolicy.SKIP:
                outcome.action = RowAction.SKIPPED
                return outcome
            self._create_pending()
            existing = existing.record if existing.action == RowAction.CREATED else None
        if existing is AMBIGUOUS and policy == DuplicatePolicy.UPDATE:
            outcome.errors = {"": self._ambiguous_message(key)}
            return outcome
        try:
            if existing is not None and policy == DuplicatePolicy.SKIP:
                outcome.action = RowAction.SKIPPED
                outcome.record = None if existing is AMBIGUOUS else existing
            elif existing is not None and policy == DuplicatePolicy.UPDATE:
                outcome.before = self._update(existing, clean)
                outcome.action, outcome.record = RowAction.UPDATED, existing
            elif self.model in BULK_MODELS:
                self._pending.append((outcome, clean))
                if key:
                    matches[key] = outcome
            else:
                outcome.record = self._create(clean)
                outcome.action = RowAction.CREATED
                if key:
                    matches[key] = outcome.record  # a later row of the same batch matches it
        except ValidationError as error:
            outcome.action = RowAction.FAILED
            outcome.errors = self._service_errors(error)
        except DatabaseError as error:
            # The service's own transaction (a savepoint in ours) was rolled back.
            outcome.action = RowAction.FAILED
            outcome.errors = {"": str(error).splitlines()[0][:500]}
        return outcome

    def _create_pending(self) -> None:
        """The batch's new records of a plain type, through the service, in one insert."""
        if not self._pending:
            return
        rows = [self._service_data(clean, creating=True) for _outcome, clean in self._pending]
        results = services.records_create_many(self.model, actor=self.user, rows=rows)
        for (outcome, _clean), result in zip(self._pending, results, strict=True):
            if isinstance(result, ValidationError):
                outcome.action, outcome.errors = RowAction.FAILED, self._service_errors(result)
            else:
                outcome.action, outcome.record = RowAction.CREATED, result
        self._pending = []

    # --- services ----------------------------------------------------------------------------

    def _service_data(self, clean: CleanRow, *, creating: bool) -> dict:
        data = dict(clean.data)
        if self.with_custom and (creating or clean.custom):
            data["custom"] = clean.custom
        person_field = self.kind.person_field
        if creating and person_field and hasattr(self.model, "team") and self.model is not Ticket:
            # The owner's first team, as record_create would pick, looked up once per owner.
            if "team" not in data:
                data["team"] = self.lookups.default_team(data.get(person_field) or self.user)
        return data

    def _create(self, clean: CleanRow):
        data = self._service_data(clean, creating=True)
        if self.model is Deal:
            stage = clean.extra.get("stage")
            pipeline = clean.extra.get("pipeline") or (stage.pipeline if stage else None)
            return services.deal_create(actor=self.user, data=data, pipeline=pipeline, stage=stage)
        if self.model is Task:
            return services.task_create(actor=self.user, data=data)
        if self.model is Ticket:
            return services.ticket_create(actor=self.user, data=data)
        if self.model is Subscription:
            return services.subscription_start(
                company=data.get("company"),
                actor=self.user,
                plan_name=data.get("plan_name", ""),
                monthly_value=data.get("monthly_value"),
                start_date=data.get("start_date"),
                end_date=data.get("end_date"),
                term_end=data.get("term_end"),
            )
        return services.record_create(self.model, actor=self.user, data=data)

    def _update(self, instance, clean: CleanRow) -> dict:
        if not self.kind.updatable:
            raise ValidationError(_("An import creates rows of this type; it never updates them."))
        data = self._service_data(clean, creating=False)
        data.pop("created_at", None)  # a creation time is not edited
        before = snapshot(instance, [name for name in data if name != "custom"])
        if "custom" in data:
            before["custom"] = json_value(dict(instance.custom or {}))
        if self.model is Task:
            services.task_update(task=instance, actor=self.user, data=data)
        elif self.model is Ticket:
            services.ticket_update(ticket=instance, actor=self.user, data=data)
        else:
            services.record_update(instance, actor=self.user, data=data)
        return before

    def _field_errors(self, data: dict) -> dict:
        """The model's own checks of the values a row has (nothing saved)."""
        given = [name for name in data if name in self.kind.fields]
        instance = self.model(**{name: data[name] for name in given})
        skipped = [f.name for f in self.model._meta.concrete_fields if f.name not in given]
        try:
            instance.clean_fields(exclude=skipped)
        except ValidationError as error:
            return self._service_errors(error)
        return {}

    def _service_errors(self, error: ValidationError) -> dict:
        if not hasattr(error, "error_dict"):
            return {"": " ".join(error.messages)}
        errors = {}
        for name, messages in error.message_dict.items():
            key = name
            if name == NON_FIELD_ERRORS or (name not in self.targets):
                key = CUSTOM_PREFIX + name if CUSTOM_PREFIX + name in self.targets else name
            if key == NON_FIELD_ERRORS:
                key = ""
            errors[key] = " ".join(messages)
        return errors

    # --- duplicates --------------------------------------------------------------------------

    def _match_value(self, clean: CleanRow) -> str:
        key = self.job.match_key
        if not key or self.job.duplicate_policy == DuplicatePolicy.CREATE:
            return ""
        if key == MatchKey.EXTERNAL_ID:
            return clean.external_id
        if key == MatchKey.EMAIL:
            return str(clean.data.get(EMAIL_FIELDS.get(self.model, ""), "")).lower()
        if key == MatchKey.DOMAIN:
            return bare_domain(clean.data.get(DOMAIN_FIELDS.get(self.model, ""), ""))
        if key == MatchKey.PHONE:
            return phone_digits(clean.data.get(PHONE_FIELDS.get(self.model, ""), ""))
        if key == MatchKey.NAME:
            return str(clean.data.get(NAME_FIELDS.get(self.model, ""), "")).strip().lower()
        return ""

    def _find_matches(self, rows: list[CleanRow]) -> dict:
        """Match value → the one existing record the user may change (AMBIGUOUS for several)."""
        values = {value for value in (self._match_value(row) for row in rows) if value}
        if not values:
            return {}
        candidates = access.visible(self.model, self.user, write=True)
        key = self.job.match_key
        if key == MatchKey.EXTERNAL_ID:
            pairs = self._external_id_pairs(values, candidates)
        else:
            column = {
                MatchKey.EMAIL: EMAIL_FIELDS,
                MatchKey.DOMAIN: DOMAIN_FIELDS,
                MatchKey.PHONE: PHONE_FIELDS,
                MatchKey.NAME: NAME_FIELDS,
            }[key][self.model]
            if key in (MatchKey.EMAIL, MatchKey.DOMAIN):
                # An index lookup: a scan per batch made 100,000 rows quadratic. Addresses are
                # compared lowercased, as imports store them; "www." as written or not.
                wanted = values | {f"www.{value}" for value in values if key == MatchKey.DOMAIN}
                found = candidates.filter(**{f"{column}__in": wanted}).order_by("pk")
                return self._matches_by_value(
                    key, [(getattr(record, column).lower(), record) for record in found]
                )
            normalised = Lower(column)
            if key == MatchKey.PHONE:
                normalised = column
                for mark in PHONE_PUNCTUATION:
                    normalised = Replace(
                        normalised, Value(mark), Value(""), output_field=CharField()
                    )
            found = (
                candidates.annotate(import_match=normalised)
                .filter(import_match__in=values)
                .order_by("pk")
            )
            pairs = [(record.import_match, record) for record in found]
        return self._matches_by_value(key, pairs)

    def _matches_by_value(self, key: str, pairs: list) -> dict:
        matches: dict = {}
        for value, record in pairs:
            value = bare_domain(value) if key == MatchKey.DOMAIN else value
            matches[value] = AMBIGUOUS if value in matches and matches[value] != record else record
        return matches

    def _external_id_pairs(self, values: set, candidates) -> list:
        """The record each external id last created or updated, by earlier imports."""
        links = (
            ImportRow.objects.filter(
                external_id__in=values,
                job__record_type=self.job.record_type,
                action__in=[RowAction.CREATED, RowAction.UPDATED],
                record_id__isnull=False,
            )
            .exclude(job__state="undone")
            .order_by("id")
            .values_list("external_id", "record_id")
        )
        latest = dict(links)
        records = candidates.in_bulk(set(latest.values()))
        return [(value, records[pk]) for value, pk in latest.items() if pk in records]

    def _ambiguous_message(self, value: str) -> str:
        return _(
            "Several records match “%(value)s”: update them by hand, or choose another match key."
        ) % {"value": value}


def _cell_text(cell) -> str:
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return "" if cell is None else str(cell)
