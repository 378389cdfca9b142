"""Reading and checking the template files (business_templates/data/<key>.json).

A file is checked whole before anything is written: every error is reported with the file's
name and the path of the faulty value (`agency.json: pipelines[0].stages[2].probability: ...`),
and a file with any error is refused. Texts shown to people are given in every language of the
installation (`{"en": ..., "pt-br": ..., "es": ..., "it": ...}`); `localized` picks one.
"""

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from crm.models import FieldType, RecordType, StageOutcome, TicketPriority
from goals.models import Direction
from goals.models import Grain as GoalGrain
from metrics.models import CardKind, DashboardGrain

DATA_DIR = Path(__file__).resolve().parent / "data"
FORMAT = 1
LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)
KEY = re.compile(r"^[a-z][a-z0-9_]{0,24}$")
MAX_FILE_BYTES = 256 * 1024
SECTIONS = ("pipelines", "custom_fields", "sla_policies", "dashboards", "automations", "goals")
TOP_LEVEL = ("format", "key", "name", "description", *SECTIONS)


class TemplateError(Exception):
    """A template that cannot be applied: the sentences say where and why."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class BusinessTemplate:
    key: str
    data: dict

    def text(self, name: str, language: str) -> str:
        return localized(self.data[name], language)


def available() -> list[str]:
    """The keys of the templates shipped in the repository, sorted."""
    return sorted(path.stem for path in DATA_DIR.glob("*.json"))


def load(key: str, *, refs=None) -> BusinessTemplate:
    """The template `key`, checked; TemplateError (naming the file) if it is missing or wrong.
    Loading several, pass one automations.catalog.References as `refs`: its menus are read
    once for all."""
    if not KEY.match(key or ""):
        raise TemplateError([f"{key!r}: not a template name."])
    return load_file(DATA_DIR / f"{key}.json", refs=refs)


def load_file(path: Path, *, refs=None) -> BusinessTemplate:
    name = path.name
    try:
        raw_bytes = path.read_bytes()
    except OSError:
        raise TemplateError([f"{name}: no such template file."]) from None
    if len(raw_bytes) > MAX_FILE_BYTES:
        raise TemplateError([f"{name}: the file is larger than {MAX_FILE_BYTES} bytes."])
    try:
        raw = json.loads(raw_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TemplateError([f"{name}: not valid JSON ({error})."]) from None
    errors = Checker(expected_key=path.stem, refs=refs).check(raw)
    if errors:
        raise TemplateError([f"{name}: {error}" for error in errors])
    return BusinessTemplate(key=raw["key"], data=raw)


def language_of(code: str) -> str:
    """The template language for a Django language code ("pt-BR" → "pt-br"), else English."""
    code = (code or "").lower().replace("_", "-")
    if code in LANGUAGES:
        return code
    return next((lang for lang in LANGUAGES if lang.split("-")[0] == code.split("-")[0]), "en")


def localized(value, language: str):
    """`value` with every per-language text replaced by its `language` version."""
    if is_translations(value):
        return value[language]
    if isinstance(value, dict):
        return {key: localized(item, language) for key, item in value.items()}
    if isinstance(value, list):
        return [localized(item, language) for item in value]
    return value


def is_translations(value) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) == set(LANGUAGES)


class Checker:
    """Collects every error of one file, each prefixed with the path of its value."""

    def __init__(self, *, expected_key: str, refs=None):
        from automations.catalog import References

        self.expected_key = expected_key
        self.refs = refs or References()
        self.errors: list[str] = []

    def check(self, raw) -> list[str]:
        if not self.object(raw, "(file)", required=("format", "key", "name"), allowed=TOP_LEVEL):
            return self.errors
        if raw["format"] != FORMAT:
            self.error("format", f"must be {FORMAT}")
        if raw["key"] != self.expected_key:
            self.error("key", f"must be the file's name, {self.expected_key!r}")
        self.text(raw.get("name"), "name", 100)
        if "description" in raw:
            self.text(raw["description"], "description", 500)
        for section in SECTIONS:
            items = raw.get(section, [])
            if not isinstance(items, list):
                self.error(section, "must be a list")
                continue
            check_item = getattr(self, f"check_{section}")
            for index, item in enumerate(items):
                check_item(item, f"{section}[{index}]")
            self.unique_keys(items, section)
        return self.errors

    # --- sections ---------------------------------------------------------------------------

    def check_pipelines(self, item, path):
        if not self.object(item, path, required=("key", "name", "stages")):
            return
        self.key(item["key"], f"{path}.key")
        self.text(item["name"], f"{path}.name", 100)
        stages = item["stages"]
        if not isinstance(stages, list) or not stages:
            self.error(f"{path}.stages", "must be a non-empty list")
            return
        for index, stage in enumerate(stages):
            self.check_stage(stage, f"{path}.stages[{index}]")
        outcomes = {stage.get("outcome") for stage in stages if isinstance(stage, dict)}
        if not {StageOutcome.OPEN, StageOutcome.WON, StageOutcome.LOST} <= outcomes:
            self.error(f"{path}.stages", "needs at least one open, one won and one lost stage")
        for language in LANGUAGES:
            names = [
                stage["name"][language]
                for stage in stages
                if isinstance(stage, dict) and is_translations(stage.get("name"))
            ]
            if len(names) != len(set(names)):
                self.error(f"{path}.stages", f"two stages have the same {language} name")

    def check_stage(self, stage, path):
        if not self.object(stage, path, required=("name", "probability", "outcome")):
            return
        self.text(stage["name"], f"{path}.name", 100)
        outcome, probability = stage["outcome"], stage["probability"]
        if outcome not in StageOutcome.values:
            self.error(f"{path}.outcome", f"must be one of {', '.join(StageOutcome.values)}")
        if not _whole(probability) or not 0 <= probability <= 100:
            self.error(f"{path}.probability", "must be a whole number from 0 to 100")
        elif outcome == StageOutcome.WON and probability != 100:
            self.error(f"{path}.probability", "a won stage has a probability of 100")
        elif outcome == StageOutcome.LOST and probability != 0:
            self.error(f"{path}.probability", "a lost stage has a probability of 0")

    def check_custom_fields(self, item, path):
        allowed = ("record_type", "key", "label", "field_type", "help_text", "choices")
        if not self.object(
            item, path, required=("record_type", "key", "label", "field_type"), allowed=allowed
        ):
            return
        self.choice(item["record_type"], f"{path}.record_type", RecordType.values)
        self.key(item["key"], f"{path}.key")
        self.text(item["label"], f"{path}.label", 100)
        if "help_text" in item:
            self.text(item["help_text"], f"{path}.help_text", 200)
        if not self.choice(item["field_type"], f"{path}.field_type", FieldType.values):
            return
        is_select = item["field_type"] in (FieldType.SELECT, FieldType.MULTI_SELECT)
        choices = item.get("choices")
        if is_select != (choices is not None):
            self.error(f"{path}.choices", "a select field has choices, other fields none")
        elif choices is not None:
            self.check_choices(choices, f"{path}.choices")

    def check_choices(self, choices, path):
        if not is_translations(choices):
            self.error(path, f"must give the options in {', '.join(LANGUAGES)}")
            return
        lengths = set()
        for language, options in choices.items():
            valid = (
                isinstance(options, list)
                and options
                and all(isinstance(o, str) and o.strip() and len(o) <= 100 for o in options)
                and len(set(options)) == len(options)
            )
            if not valid:
                self.error(
                    f"{path}.{language}", "must be a list of distinct, short, non-empty texts"
                )
            else:
                lengths.add(len(options))
        if len(lengths) > 1:
            self.error(path, "every language must give the same number of options")

    def check_sla_policies(self, item, path):
        required = ("priority", "first_response_hours", "resolution_hours")
        if not self.object(item, path, required=required):
            return
        self.choice(item["priority"], f"{path}.priority", TicketPriority.values)
        for name in required[1:]:
            if not _number(item[name]) or not 0 < item[name] < 100000:
                self.error(f"{path}.{name}", "must be a number of hours above 0")

    def check_dashboards(self, item, path):
        if not self.object(item, path, required=("key", "name", "cards"), allowed=("grain",)):
            return
        from metrics.charts import is_chart
        from metrics.registry import REGISTRY, all_kpis

        all_kpis()
        self.key(item["key"], f"{path}.key")
        self.text(item["name"], f"{path}.name", 100)
        if "grain" in item:
            self.choice(item["grain"], f"{path}.grain", DashboardGrain.values)
        cards = item["cards"]
        if not isinstance(cards, list) or not cards:
            self.error(f"{path}.cards", "must be a non-empty list")
            return
        for index, card in enumerate(cards):
            card_path = f"{path}.cards[{index}]"
            if not self.object(card, card_path, required=("kind", "key")):
                continue
            if not self.choice(card["kind"], f"{card_path}.kind", CardKind.values):
                continue
            known = card["key"] in REGISTRY if card["kind"] == CardKind.KPI else None
            if known is None:
                known = isinstance(card["key"], str) and is_chart(card["key"])
            if not known:
                self.error(f"{card_path}.key", f"{card['key']!r} is no {card['kind']}")

    def check_automations(self, item, path):
        required = ("key", "name", "trigger", "actions")
        if not self.object(item, path, required=required, allowed=("description", "conditions")):
            return
        from automations.catalog import validate_rule

        self.key(item["key"], f"{path}.key")
        self.text(item["name"], f"{path}.name", 150)
        if "description" in item:
            self.text(item["description"], f"{path}.description", 1000)
        for language in LANGUAGES:
            rule = localized(item, language)
            try:
                validate_rule(
                    trigger=rule["trigger"],
                    conditions=rule.get("conditions") or {"match": "all", "rows": []},
                    actions=rule["actions"],
                    refs=self.refs,
                )
            except ValidationError as error:
                for field, sentences in error.message_dict.items():
                    for sentence in sentences:
                        self.error(f"{path}.{field} ({language})", sentence)
            except (TypeError, AttributeError, KeyError, ValueError):
                self.error(path, f"the rule's shape is not one the engine reads ({language})")

    def check_goals(self, item, path):
        if not self.object(
            item, path, required=("key", "name", "grain", "targets"), allowed=("description",)
        ):
            return
        self.key(item["key"], f"{path}.key")
        self.text(item["name"], f"{path}.name", 200)
        if "description" in item:
            self.text(item["description"], f"{path}.description", 1000)
        grains = [g for g in GoalGrain.values if g != GoalGrain.CUSTOM]
        self.choice(item["grain"], f"{path}.grain", grains)
        targets = item["targets"]
        if not isinstance(targets, list) or not targets:
            self.error(f"{path}.targets", "must be a non-empty list")
            return
        for index, target in enumerate(targets):
            self.check_target(target, f"{path}.targets[{index}]")

    def check_target(self, target, path):
        required = ("name", "kpi", "direction", "start_value", "target_value")
        if not self.object(target, path, required=required):
            return
        from metrics.registry import REGISTRY, all_kpis

        all_kpis()
        self.text(target["name"], f"{path}.name", 200)
        if target["kpi"] not in REGISTRY:
            self.error(f"{path}.kpi", f"{target['kpi']!r} is no KPI")
        directions = (Direction.INCREASE, Direction.DECREASE)
        if not self.choice(target["direction"], f"{path}.direction", directions):
            return
        start, goal = _decimal(target["start_value"]), _decimal(target["target_value"])
        if start is None or goal is None:
            self.error(path, "start_value and target_value must be numbers")
        elif (goal > start) != (target["direction"] == Direction.INCREASE) or goal == start:
            self.error(f"{path}.target_value", "must lie in the target's direction from the start")

    # --- values -----------------------------------------------------------------------------

    def object(self, value, path, *, required=(), allowed=()) -> bool:
        if not isinstance(value, dict):
            self.error(path, "must be an object")
            return False
        missing = [name for name in required if name not in value]
        unknown = sorted(set(value) - set(required) - set(allowed))
        for name in missing:
            self.error(path, f"{name!r} is missing")
        for name in unknown:
            self.error(path, f"{name!r} is not a known entry")
        return not missing and not unknown

    def text(self, value, path, max_length: int) -> None:
        if not is_translations(value):
            self.error(path, f"must give the text in {', '.join(LANGUAGES)}")
            return
        for language, text in value.items():
            if not isinstance(text, str) or not text.strip() or len(text) > max_length:
                self.error(
                    f"{path}.{language}",
                    f"must be a non-empty text of {max_length} characters at most",
                )

    def key(self, value, path) -> None:
        if not isinstance(value, str) or not KEY.match(value):
            self.error(path, "must be a key: lower-case letters, digits and _, 25 at most")

    def choice(self, value, path, choices) -> bool:
        if value not in choices:
            self.error(path, f"must be one of {', '.join(choices)}")
            return False
        return True

    def unique_keys(self, items, section) -> None:
        keys = [
            (item.get("record_type"), item.get("key", item.get("priority")))
            for item in items
            if isinstance(item, dict)
        ]
        for duplicate in sorted({key for key in keys if keys.count(key) > 1}, key=str):
            self.error(section, f"{duplicate[1]!r} appears twice")

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message.rstrip('.')}.")


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decimal(value) -> Decimal | None:
    if not _number(value):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
