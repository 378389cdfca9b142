"""The load test's simulated people (issue 19): 20 reps, 5 agents and 3 managers working the
CRM through its pages, as browsers do (log in through the form with its CSRF token, then GET
pages and POST forms with the token).

- reps: lists, My day, search, deal pages, the board, drags on the board (the move the board
  posts, to another open stage of the deal's pipeline) and activities logged on deals;
- agents: the ticket queue and its views, ticket pages, replies to tickets;
- managers: the ready-made dashboards, every KPI page, and drill-downs (a KPI page's second
  page of records, its breakdown by another field).

Run by tests/bench/test_load.py, which starts the server and writes the plan: the accounts
and the records each simulated user works on (LOAD_PLAN, see tests/bench/load_plan.py). Pages
are named by their route (`/deals/[id]/`), so the figures group by page.

Everyone logs in at the start (28 password hashes within seconds, a burst no office makes):
the statistics start over once the last login is done. The logins' own figures and every
failure of the whole run, before the restart too, are written apart (LOAD_SUMMARY).
"""

import itertools
import json
import os
import random

from locust import HttpUser, between, events, task

with open(os.environ["LOAD_PLAN"]) as plan_file:
    PLAN = json.load(plan_file)

# Seconds each person waits between two actions (LOAD_WAIT="min,max"): 1–3 s by default, a
# pace no office keeps up all day, so the figures are a stress test's.
WAIT_MIN, WAIT_MAX = (float(part) for part in os.environ.get("LOAD_WAIT", "1,3").split(","))

_slots = {role: itertools.count() for role in ("rep", "agent", "manager")}
# What a form answered to htmx when it refused the input (htmx swaps only 2xx answers, so
# the record panels come back with status 200 and the errors in them).
FORM_ERRORS = (b"invalid-feedback d-block", b"alert alert-danger")

LOGIN = "/accounts/login/"
summary = {"logged_in": 0, "login_ms": [], "failures": 0, "failure_samples": []}


@events.request.add_listener
def _note(request_type, name, response_time, exception, **_kwargs):
    if request_type == "POST" and name == LOGIN:
        summary["login_ms"].append(response_time)
    if exception is not None:
        summary["failures"] += 1
        if len(summary["failure_samples"]) < 20:
            summary["failure_samples"].append(f"{request_type} {name}: {exception}"[:300])


@events.quitting.add_listener
def _write_summary(environment, **_kwargs):
    if os.environ.get("LOAD_SUMMARY"):
        with open(os.environ["LOAD_SUMMARY"], "w") as out:
            json.dump(summary, out)


def login_done(environment) -> None:
    """Once everyone is in, measure afresh: the pages, not the burst of logins."""
    summary["logged_in"] += 1
    if summary["logged_in"] == sum(person.fixed_count for person in (Rep, Agent, Manager)):
        environment.runner.stats.reset_all()


def next_slot(role: str) -> dict:
    slots = PLAN[role]
    return slots[next(_slots[role]) % len(slots)]


class Person(HttpUser):
    abstract = True
    role = ""
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def on_start(self):
        self.slot = next_slot(self.role)
        self.rng = random.Random()
        self.log_in()

    def log_in(self):
        self.page(LOGIN, LOGIN)
        with self.client.post(
            LOGIN,
            data={
                "username": self.slot["username"],
                "password": PLAN["password"],
                "csrfmiddlewaretoken": self.csrf_token(),
            },
            allow_redirects=False,
            name=LOGIN,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or "/accounts/login/" in response.headers.get(
                "Location", ""
            ):
                response.failure(f"login as {self.slot['username']}: {response.status_code}")
        login_done(self.environment)

    def csrf_token(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    def page(self, path: str, name: str, *, expect: int = 200):
        """GET a page; anything but `expect` (a redirect to the login page, say) fails."""
        with self.client.get(
            path, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"{path}: {response.status_code}")
        return response

    def post(self, path: str, name: str, data: dict, *, expect: int, headers=None):
        """POST a form with the CSRF token; another status or a refused input fails."""
        with self.client.post(
            path,
            data=data,
            name=name,
            headers={"X-CSRFToken": self.csrf_token(), **(headers or {})},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != expect:
                response.failure(f"{path}: {response.status_code} {response.text[:200]}")
            elif any(marker in response.content for marker in FORM_ERRORS):
                response.failure(f"{path}: the form refused the input")
            elif "json" in response.headers.get("Content-Type", "") and not response.json()["ok"]:
                response.failure(f"{path}: {response.text[:200]}")
        return response


class Rep(Person):
    role = "rep"
    fixed_count = 20

    def deal(self) -> dict:
        return self.rng.choice(self.slot["deals"])

    @task(6)
    def lists(self):
        path = self.rng.choice(self.slot["lists"])
        self.page(path, path)

    @task(3)
    def deal_page(self):
        self.page(f"/deals/{self.deal()['id']}/", "/deals/[id]/")

    @task(3)
    def search(self):
        term = self.rng.choice(self.slot["search"] or ["a"])
        self.page(f"/search/?q={term}", "/search/?q=[term]")

    @task(2)
    def board(self):
        pipeline = self.rng.choice(self.slot["pipelines"])
        self.page(f"/deals/board/?pipeline={pipeline}", "/deals/board/")

    @task(2)
    def drag_on_board(self):
        deal = self.deal()
        stage = self.rng.choice([s for s in deal["stages"] if s != deal["stage"]])
        response = self.post(
            f"/deals/{deal['id']}/move/",
            "/deals/[id]/move/ (board drag)",
            {"stage": stage, "lost_reason": "", "filters": ""},
            expect=200,
            headers={"Accept": "application/json"},
        )
        if response.status_code == 200:
            deal["stage"] = stage

    @task(2)
    def log_activity(self):
        deal = self.deal()
        self.post(
            f"/records/deal/{deal['id']}/activities/",
            "/records/deal/[id]/activities/",
            {
                "kind": "call",
                "direction": "outbound",
                "subject": "Follow-up call",
                "outcome": "Interested",
                "body": "Talked through the proposal; next step agreed.",
            },
            expect=200,
            headers={"HX-Request": "true"},
        )


class Agent(Person):
    role = "agent"
    fixed_count = 5

    def ticket(self) -> int:
        return self.rng.choice(self.slot["tickets"])

    @task(4)
    def queue(self):
        self.page(self.rng.choice(self.slot["queues"]), "/tickets/[view]")

    @task(1)
    def my_day(self):
        self.page("/", "/")

    @task(3)
    def ticket_page(self):
        self.page(f"/tickets/{self.ticket()}/", "/tickets/[id]/")

    @task(2)
    def reply(self):
        self.post(
            f"/tickets/{self.ticket()}/reply/",
            "/tickets/[id]/reply/",
            {"body": "Thanks for the details: we are looking into it.", "status": ""},
            expect=302,
        )


class Manager(Person):
    role = "manager"
    fixed_count = 3

    def kpi(self) -> dict:
        return self.rng.choice(self.slot["kpis"])

    @task(3)
    def dashboard(self):
        slug = self.rng.choice(self.slot["dashboards"])
        self.page(f"/dashboards/{slug}/", "/dashboards/[slug]/")

    @task(3)
    def kpi_page(self):
        self.page(f"/dashboards/kpi/{self.kpi()['key']}/", "/dashboards/kpi/[key]/")

    @task(2)
    def drill_down(self):
        kpi = self.kpi()
        query = "page=2&records=all"
        if kpi["by"]:
            query += f"&by={self.rng.choice(kpi['by'])}"
        self.page(f"/dashboards/kpi/{kpi['key']}/?{query}", "/dashboards/kpi/[key]/?page=2&by=")
