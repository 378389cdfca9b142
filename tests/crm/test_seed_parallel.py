"""On the COPY path worker processes build the chunks (SEED_WORKERS): the rows and ids must be
those one generator thread gives, and a failure on either side must stop the seed with its
error and leave no worker running."""

import hashlib
import multiprocessing
import os
from datetime import date

import pytest
from django.db import connection, transaction
from django.db.models import Max, Min

from crm import models as m
from crm import seed
from crm.demo import create_demo_organisation, create_demo_users

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TODAY = date(2026, 11, 20)


@pytest.fixture
def parallel(monkeypatch):
    """A copy-path scale of five chunks; the users, teams and pipelines exist before each run
    (rolled back) so that both runs point at the same ones."""
    if connection.vendor != "postgresql":
        pytest.skip("the workers build chunks for COPY, the PostgreSQL writer")
    scale = seed.Scale(companies=500, chunk=100, copy=True, organisation=True)
    monkeypatch.setitem(seed.SCALES, "parallel", scale)
    create_demo_users()
    create_demo_organisation()
    return monkeypatch


def _seed(monkeypatch, workers: int):
    monkeypatch.setenv("SEED_WORKERS", str(workers))
    return seed.seed_demo(scale="parallel", seed=3, today=TODAY, analyze=False)


def _digests() -> dict[str, tuple[int, str]]:
    """Per table: its row count and a digest of its rows, each id (the row's own and those of
    seeded parents) taken relative to its table's first id, `updated_at` left out. Checks on
    the way that each table's ids are dense."""
    first_ids = {}
    for model in seed.SEEDED_MODELS:
        ids = model.objects.aggregate(first=Min("pk"), last=Max("pk"))
        first_ids[model] = ids["first"]
        if ids["first"] is not None:
            assert ids["last"] - ids["first"] + 1 == model.objects.count(), model
    digests = {}
    for model in seed.SEEDED_MODELS:
        fields = [f for f in model._meta.concrete_fields if f.name != "updated_at"]
        offsets = [
            first_ids[model] if f.primary_key else first_ids.get(f.related_model) for f in fields
        ]
        digest, count = hashlib.sha256(), 0
        for row in model.objects.order_by("pk").values_list(*[f.attname for f in fields]):
            relative = [
                value - offset if offset is not None and value is not None else value
                for value, offset in zip(row, offsets, strict=True)
            ]
            digest.update(repr(relative).encode())
            count += 1
        digests[model.__name__] = (count, digest.hexdigest())
    return digests


def test_two_workers_write_the_rows_and_ids_of_one(parallel):
    runs = []
    built = []
    parallel.setattr(seed._ChunkProcesses, "__init__", _spy(seed._ChunkProcesses.__init__, built))
    for workers in (1, 2):
        with transaction.atomic():
            counts = _seed(parallel, workers)
            runs.append((counts, _digests()))
            # The sequences moved past the ids the workers handed out.
            company = m.Company.objects.create(name="After the seed")
            others = m.Company.objects.exclude(pk=company.pk)
            assert company.pk == others.aggregate(last=Max("pk"))["last"] + 1
            transaction.set_rollback(True)
    assert built == [2]  # only the second run forked
    (counts_one, rows_one), (counts_two, rows_two) = runs
    assert counts_two == counts_one
    assert rows_two == rows_one
    assert all(rows_one[name][0] for name in ("Deal", "Company", "Contact", "Lead", "Ticket"))


def _spy(init, calls):
    def spied(self, seeder, writer, workers):
        calls.append(workers)
        init(self, seeder, writer, workers)

    return spied


def _failing_chunk(index: int, fail):
    build = seed.Seeder._chunk

    def chunk(self, at):
        if at == index:
            fail()
        return build(self, at)

    return chunk


def _raise():
    raise ValueError("chunk 3 cannot be built")


def test_a_workers_error_is_raised_in_the_parent_with_its_traceback(parallel):
    parallel.setattr(seed.Seeder, "_chunk", _failing_chunk(3, _raise))
    with pytest.raises(ValueError, match="chunk 3 cannot be built") as raised:
        with transaction.atomic():
            _seed(parallel, 2)
    notes = "".join(raised.value.__notes__)
    assert "seed-worker-1" in notes and "in _raise" in notes
    assert multiprocessing.active_children() == []


def test_a_worker_that_dies_stops_the_seed(parallel):
    parallel.setattr(seed.Seeder, "_chunk", _failing_chunk(2, lambda: os._exit(3)))
    with pytest.raises(RuntimeError, match=r"seed-worker-0 ended \(exit code 3\)"):
        with transaction.atomic():
            _seed(parallel, 2)
    assert multiprocessing.active_children() == []


def _full_disk(self, writer, chunk):
    raise OSError("the disk is full")


def test_an_error_writing_a_chunk_stops_the_workers(parallel):
    parallel.setattr(seed.Seeder, "_write", _full_disk)
    with pytest.raises(OSError, match="the disk is full"):
        with transaction.atomic():
            _seed(parallel, 2)
    assert multiprocessing.active_children() == []


def _index_definitions() -> set[str]:
    """Each index of the seeded tables: its name, table and kind. Not its whole text: built
    again from PostgreSQL's own reading of it, `IN (...)` reads back as `= ANY (ARRAY[...])`,
    which plans the same (the planner simplifies both alike)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, tablename, split_part(indexdef, ' (', 1) FROM pg_indexes "
            "WHERE tablename = ANY(%s)",
            [[model._meta.db_table for model in seed.SEEDED_MODELS]],
        )
        return set(cursor.fetchall())


def _queue_plan() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(
            "EXPLAIN SELECT count(*) FROM crm_ticket WHERE NOT status IN ('resolved', 'closed')"
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_tables_are_loaded_without_their_indexes_and_get_them_all_back(parallel):
    before = _index_definitions()
    dropped = []
    original = seed._secondary_indexes

    def noted(cursor, table):
        found = original(cursor, table)
        dropped.extend(found)
        return found

    parallel.setattr(seed, "_secondary_indexes", noted)
    with transaction.atomic():
        _seed(parallel, 2)
        assert _index_definitions() == before
        # A partial index built again still serves the queries its condition matches.
        assert "ticket_working_queue" in _queue_plan()
        transaction.set_rollback(True)
    assert {name for name, _definition in dropped} >= {"deal_board_cards", "deal_owner_ids"}


def test_a_failed_load_leaves_every_index_in_place(parallel):
    before = _index_definitions()
    parallel.setattr(seed.Seeder, "_write", _full_disk)
    with pytest.raises(OSError, match="the disk is full"):
        with transaction.atomic():
            _seed(parallel, 2)
    assert _index_definitions() == before
