"""The webhook event type list covers every type the services write to the event log."""

import re
from pathlib import Path

from webhooks.event_types import ALL_EVENTS, known_event_types

ROOT = Path(__file__).resolve().parents[2]
LITERAL_TYPE = re.compile(r"""type=["']([a-z_]+\.[a-z_]+)["']""")


def written_event_types() -> set[str]:
    found = set()
    for path in (ROOT / "crm" / "services").glob("*.py"):
        found |= set(LITERAL_TYPE.findall(path.read_text()))
    return found


def test_every_event_type_the_services_write_can_be_subscribed_to():
    known = set(known_event_types())
    assert written_event_types(), "the scan found no event types"
    assert written_event_types() - known == set()


def test_all_events_comes_first_and_each_record_has_its_wildcard():
    types = known_event_types()
    assert types[0] == ALL_EVENTS and len(types) == len(set(types))
    records = {value.split(".")[0] for value in types[1:]}
    assert {f"{record}.*" for record in records} <= set(types)
