"""The rule builder's form: posted menus and rows ⇄ the JSON shapes of automations/schema.py.

The builder posts flat fields — `trigger-<param>`, `group-<g>-match`, `cond-<n>-field|op|value|
group`, `action-<n>-type|<param>` — and a `builder_op` when a row is added or removed or a
menu changed. `RuleDraft` turns them into the rule's data, keeps what was entered when it is
refused, and holds the errors of each row so the page shows them next to the row.
"""

import re
from dataclasses import dataclass
from dataclasses import field as default

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from . import catalog
from .schema import ACTION_TYPES, VALUELESS_OPERATORS

TRIGGER_PARAMS = (
    "type",
    "record_type",
    "field",
    "from",
    "to",
    "kind",
    "min",
    "max",
    "date_field",
    "offset_days",
    "days",
    "cron",
    "kpi",
    "per",
    "window_days",
    "grain",
    "segment",
    "op",
    "value",
    "direction",
    "scope",
)
ACTION_PARAMS = {
    "create_task": ("title", "assignee", "due_in_hours", "priority"),
    "assign_owner": ("strategy", "user", "team"),
    "update_field": ("field", "value"),
    "set_lifecycle": ("lifecycle",),
    "add_note": ("body",),
    "notify": ("to", "title", "body"),
    "send_survey": ("kind",),
    "create_ticket": ("subject", "priority"),
    "webhook": ("url", "secret"),
}
INT_ACTION_PARAMS = {"due_in_hours", "user", "team"}
ROW_KEY = re.compile(r"^(cond|action|group)-(\d+)-([a-z_]+)$")
MAX_ROWS = 100
DRY_RUN_DAYS = (1, 7, 30, 90)
ROOT = 0


@dataclass
class ConditionRow:
    index: int
    field: str = ""
    op: str = "eq"
    value: object = ""
    group: int = ROOT
    errors: list[str] = default(default_factory=list)

    @property
    def values(self) -> list[str]:
        """The value as a list of strings, for "is one of" menus."""
        if isinstance(self.value, list):
            return [str(item) for item in self.value]
        return [str(self.value)] if self.value not in ("", None) else []


@dataclass
class Group:
    id: int
    match: str = "all"
    errors: list[str] = default(default_factory=list)


@dataclass
class ActionRow:
    index: int
    type: str = "create_task"
    params: dict = default(default_factory=dict)
    errors: list[str] = default(default_factory=list)


@dataclass
class RuleDraft:
    name: str = ""
    description: str = ""
    enabled: bool = False
    trigger: dict = default(
        default_factory=lambda: {"type": "record.created", "record_type": "deal"}
    )
    groups: list[Group] = default(default_factory=lambda: [Group(ROOT)])
    rows: list[ConditionRow] = default(default_factory=list)
    actions: list[ActionRow] = default(default_factory=list)
    errors: dict[str, list[str]] = default(default_factory=dict)

    # --- from a saved rule and from a post ---------------------------------------------------

    @classmethod
    def blank(cls) -> "RuleDraft":
        return cls(actions=[ActionRow(0)])

    @classmethod
    def from_rule(cls, rule) -> "RuleDraft":
        draft = cls(name=rule.name, description=rule.description, enabled=rule.enabled)
        draft.trigger = _trigger_for_form(rule.trigger or {})
        conditions = rule.conditions or {}
        draft.groups = [Group(ROOT, match=conditions.get("match", "all"))]
        for item in conditions.get("rows", []):
            if isinstance(item, dict) and "rows" in item:
                group = Group(len(draft.groups), match=item.get("match", "all"))
                draft.groups.append(group)
                for row in item.get("rows", []):
                    draft._add_row(row, group.id)
            else:
                draft._add_row(item, ROOT)
        draft.actions = [
            ActionRow(index, type=action.get("type", ""), params=_action_for_form(action))
            for index, action in enumerate(rule.actions or [])
        ]
        return draft

    def _add_row(self, row: dict, group: int) -> None:
        self.rows.append(
            ConditionRow(
                len(self.rows),
                field=row.get("field", ""),
                op=row.get("op", "eq"),
                value=row.get("value", ""),
                group=group,
            )
        )

    @classmethod
    def from_post(cls, post) -> "RuleDraft":
        draft = cls(
            name=post.get("name", "").strip(),
            description=post.get("description", "").strip(),
            enabled=post.get("enabled") in ("on", "true", "1"),
        )
        draft.trigger = {p: post.get(f"trigger-{p}", "").strip() for p in TRIGGER_PARAMS}
        draft.trigger["kinds"] = post.getlist("trigger-kinds")
        indexes = _indexes(post)
        draft.groups = [Group(ROOT, match=_match(post.get(f"group-{ROOT}-match")))]
        draft.groups += [
            Group(g, match=_match(post.get(f"group-{g}-match")))
            for g in sorted(indexes["group"] - {ROOT})
        ]
        group_ids = {group.id for group in draft.groups}
        for n in sorted(indexes["cond"])[:MAX_ROWS]:
            values = [v for v in post.getlist(f"cond-{n}-value") if v != ""]
            group = _int(post.get(f"cond-{n}-group"), ROOT)
            draft.rows.append(
                ConditionRow(
                    n,
                    field=post.get(f"cond-{n}-field", ""),
                    op=post.get(f"cond-{n}-op", "eq"),
                    value=values if len(values) > 1 else (values[0] if values else ""),
                    group=group if group in group_ids else ROOT,
                )
            )
        for n in sorted(indexes["action"])[:MAX_ROWS]:
            kind = post.get(f"action-{n}-type", "")
            params = {p: post.get(f"action-{n}-{p}", "") for p in ACTION_PARAMS.get(kind, ())}
            if kind == "update_field" and len(post.getlist(f"action-{n}-value")) > 1:
                # A multi-select custom field posts each chosen value.
                params["value"] = ", ".join(post.getlist(f"action-{n}-value"))
            draft.actions.append(ActionRow(n, type=kind, params=params))
        return draft

    # --- adding and removing rows --------------------------------------------------------------

    def apply(self, op: str) -> None:
        """Add or remove a row or group (the builder's buttons); unknown ops change nothing."""
        name, _sep, arg = op.partition(":")
        target = _int(arg, -1)
        if name == "add_condition":
            group = target if target in {g.id for g in self.groups} else ROOT
            self.rows.append(ConditionRow(self._next(self.rows), group=group))
        elif name == "add_group" and len(self.groups) < catalog.MAX_GROUP_DEPTH * 5:
            group = Group(max(g.id for g in self.groups) + 1, match="any")
            self.groups.append(group)
            self.rows.append(ConditionRow(self._next(self.rows), group=group.id))
        elif name == "remove_condition":
            self.rows = [row for row in self.rows if row.index != target]
        elif name == "remove_group" and target != ROOT:
            self.groups = [g for g in self.groups if g.id != target]
            self.rows = [row for row in self.rows if row.group != target]
        elif name == "add_action":
            self.actions.append(ActionRow(self._next(self.actions)))
        elif name == "remove_action":
            self.actions = [a for a in self.actions if a.index != target]

    @staticmethod
    def _next(rows) -> int:
        return max((row.index for row in rows), default=-1) + 1

    # --- to the schema shapes ------------------------------------------------------------------

    @property
    def record_type(self) -> str:
        return catalog.trigger_record_type(self.trigger_data())

    def trigger_data(self) -> dict:
        return _trigger_from_form(self.trigger, self.specs_for(self.trigger.get("record_type")))

    def specs_for(self, record_type) -> dict:
        cache = self.__dict__.setdefault("_specs", {})
        if record_type not in cache:
            cache[record_type] = catalog.fields_by_path(record_type, refs=self.refs)
        return cache[record_type]

    @property
    def refs(self) -> catalog.References:
        return self.__dict__.setdefault("_refs", catalog.References())

    @property
    def specs(self) -> dict:
        return self.specs_for(self.record_type) if self.record_type else {}

    def conditions_data(self) -> dict:
        root = self.groups[0]
        rows: list = [self._row_data(row) for row in self.rows if row.group == ROOT]
        for group in self.groups[1:]:
            members = [self._row_data(row) for row in self.rows if row.group == group.id]
            rows.append({"match": group.match, "rows": members})
        return {"match": root.match, "rows": rows}

    def _row_data(self, row: ConditionRow) -> dict:
        data = {"field": row.field, "op": row.op}
        if row.op in VALUELESS_OPERATORS:
            return data
        spec = self.specs.get(row.field)
        if row.op == "in":
            items = row.value if isinstance(row.value, list) else _split(row.value)
            data["value"] = [_clean_or_raw(spec, item) for item in items]
        else:
            data["value"] = _clean_or_raw(spec, row.value)
        return data

    def actions_data(self) -> list[dict]:
        return [self._action_data(action) for action in self.actions]

    def _action_data(self, action: ActionRow) -> dict:
        data = {"type": action.type}
        for name, raw in _used_params(action).items():
            if name in INT_ACTION_PARAMS and str(raw).strip().lstrip("-").isdigit():
                data[name] = int(raw)
            elif name == "value":
                spec = self.specs.get(action.params.get("field"))
                data[name] = "" if raw == "" else _clean_or_raw(spec, raw)
            else:
                data[name] = raw.strip() if isinstance(raw, str) else raw
        if action.type == "update_field":
            spec = self.specs.get(action.params.get("field"))
            if spec is not None and spec.multiple:
                data["value"] = _split(action.params.get("value", ""))
        return data

    def data(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "enabled": self.enabled,
            "trigger": self.trigger_data(),
            "conditions": self.conditions_data(),
            "actions": self.actions_data(),
        }

    # --- errors next to the rows ---------------------------------------------------------------

    def check(self) -> bool:
        """Put each problem next to its row; True if the draft has none."""
        self.errors = {}
        if not self.name:
            self.errors["name"] = [_("Give the rule a name.")]
        trigger = self.trigger_data()
        trigger_errors = catalog.trigger_errors(trigger, refs=self.refs)
        if trigger_errors:
            self.errors["trigger"] = trigger_errors
        context = {
            "specs": self.specs,
            "no_record": not self.record_type,
            "no_change": trigger.get("type") in catalog.TIME_TRIGGERS
            or trigger.get("type") == "record.deleted",
            "count": 0,
        }
        for row in self.rows:
            row.errors = catalog.row_errors(self._row_data(row), context)
        for group in self.groups[1:]:
            if not any(row.group == group.id for row in self.rows):
                group.errors = [_("Add a condition to this group or remove it.")]
        if not self.actions:
            self.errors["actions"] = [
                _("Add at least one action: a rule without actions does nothing.")
            ]
        for action in self.actions:
            action.errors = catalog.action_errors(
                self._action_data(action), record_type=self.record_type, refs=self.refs
            )
        return not self.has_errors

    @property
    def has_errors(self) -> bool:
        return bool(
            self.errors
            or any(row.errors for row in self.rows)
            or any(group.errors for group in self.groups)
            or any(action.errors for action in self.actions)
        )

    def add_service_errors(self, error: ValidationError) -> None:
        """Errors the service raised that the rows' own checks did not (shown at the top)."""
        if hasattr(error, "error_dict"):
            for key, messages in error.message_dict.items():
                key = key if key in ("name", "trigger", "conditions", "actions") else "general"
                self.errors.setdefault(key, []).extend(messages)
        else:
            self.errors.setdefault("general", []).extend(error.messages)

    # --- for the template ----------------------------------------------------------------------

    def groups_with_rows(self) -> list[tuple[Group, list[ConditionRow]]]:
        return [(g, [row for row in self.rows if row.group == g.id]) for g in self.groups]


def _indexes(post) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {"cond": set(), "action": set(), "group": set()}
    for key in post.keys():
        match = ROW_KEY.match(key)
        if match and len(match.group(2)) < 6:
            found[match.group(1)].add(int(match.group(2)))
    return found


def _match(value) -> str:
    return "any" if value == "any" else "all"


def _int(value, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _split(value) -> list[str]:
    if isinstance(value, list):
        return value
    return [item.strip() for item in str(value or "").split(",") if item.strip()]


def _clean_or_raw(spec, raw):
    """The canonical value if it cleans; else what was typed, for the catalog to reject."""
    if spec is None:
        return raw
    try:
        return catalog.clean_value(spec, raw)
    except ValidationError:
        return raw


def _used_params(action: ActionRow) -> dict:
    """The params the action's choices use: an assignment to a user has no team, and one within
    a team has no user and, when no team is chosen, no team key (the record's own team)."""
    if action.type != "assign_owner":
        return action.params
    strategy = action.params.get("strategy")
    unused = {"team"} if strategy == "user" else {"user"}
    if strategy != "user" and str(action.params.get("team", "")).strip() == "":
        unused.add("team")
    return {name: raw for name, raw in action.params.items() if name not in unused}


def _optional_int(raw):
    text = str(raw).strip()
    if text == "":
        return None
    return int(text) if text.lstrip("-").isdigit() else text


def _trigger_from_form(form: dict, specs: dict) -> dict:
    kind = form.get("type", "")
    trigger: dict = {"type": kind}
    if kind in catalog.RECORD_TRIGGERS:
        trigger["record_type"] = form.get("record_type", "")
    if kind == "field.changed":
        trigger["field"] = form.get("field", "")
        for end in ("from", "to"):
            if form.get(end) not in ("", None):
                trigger[end] = _clean_or_raw(specs.get(trigger["field"]), form[end])
    elif kind == "survey.answered":
        trigger["kind"] = form.get("kind", "")
        trigger["min"] = _optional_int(form.get("min", ""))
        trigger["max"] = _optional_int(form.get("max", ""))
    elif kind == "activity.logged":
        trigger["kinds"] = list(form.get("kinds") or [])
    elif kind == "date.reached":
        trigger["field"] = form.get("date_field", "")
        trigger["offset_days"] = _optional_int(form.get("offset_days", "0")) or 0
    elif kind == "no_activity":
        trigger["days"] = _optional_int(form.get("days", ""))
    elif kind == "schedule":
        trigger["cron"] = form.get("cron", "")
    elif kind == "kpi.alert":
        trigger.update({p: form.get(p, "") for p in ("kpi", "direction", "scope")})
    elif kind == "kpi.threshold":
        trigger.update({p: form.get(p, "") for p in ("kpi", "grain", "segment", "op")})
        trigger["grain"] = trigger["grain"] or "month"
        threshold = catalog.FieldSpec("value", _("The threshold"), "number")
        trigger["value"] = _clean_or_raw(threshold, form.get("value", ""))
        if form.get("per"):
            trigger["per"] = form["per"]  # anything but "company" is for the catalog to refuse
            trigger["window_days"] = _optional_int(form.get("window_days", ""))
    return trigger


def _trigger_for_form(trigger: dict) -> dict:
    """A stored trigger as the builder's flat `trigger-<param>` values."""
    form = {p: "" for p in TRIGGER_PARAMS}
    form.update({k: v for k, v in trigger.items() if k in TRIGGER_PARAMS and v is not None})
    form["kinds"] = list(trigger.get("kinds") or [])
    if trigger.get("type") == "date.reached":
        form["date_field"] = trigger.get("field", "")
        form["field"] = ""
    return {k: v if isinstance(v, list) else str(v) for k, v in form.items()}


def _action_for_form(action: dict) -> dict:
    params = {}
    for name in ACTION_PARAMS.get(action.get("type"), ()):
        value = action.get(name, "")
        params[name] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return params


def action_type_choices() -> list[tuple[str, str]]:
    return [(key, str(label)) for key, label in ACTION_TYPES.items()]


INPUT_TYPES = {"number": "number", "money": "number", "date": "date", "datetime": "datetime-local"}


def value_widget(spec, op: str, raw, name: str) -> dict | None:
    """How to draw a value input for a field and operator: a menu for choice-like fields
    (several values for "is one of"), a typed input otherwise; None when the operator takes
    no value."""
    if op in VALUELESS_OPERATORS:
        return None
    values = _as_strings(raw)
    multiple = op == "in"
    if spec is not None and spec.type == "boolean":
        options = [("true", _("yes")), ("false", _("no"))]
    else:
        options = list(spec.choices) if spec is not None else []
    if options:
        return {
            "name": name,
            "kind": "select",
            "multiple": multiple or (spec is not None and spec.multiple and op != "contains"),
            "options": [(v, label, v in values) for v, label in options],
        }
    text = ", ".join(values) if multiple else (values[0] if values else "")
    input_type = "text" if multiple else INPUT_TYPES.get(getattr(spec, "type", ""), "text")
    return {"name": name, "kind": "input", "type": input_type, "value": text}


def _as_strings(raw) -> list[str]:
    items = raw if isinstance(raw, list) else ([] if raw in ("", None) else [raw])
    return [
        ("true" if item else "false") if isinstance(item, bool) else str(item) for item in items
    ]
