"""The demo's help centre: knowledge-base categories and articles for the product the demo
customers buy (plans, add-ons, imports, reports, the API), most published, a few drafts.

Demo content is data, in English like the rest of the demo records. The seed links the
published ones from agents' replies (crm.seed). Five of Bruno's are published this quarter,
spread like the progress the demo goal "Help articles written" records (goals.demo).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from .models import Article, ArticleCategory, ArticleStatus, User

THIS_QUARTER = "this quarter"

CATEGORIES = [
    # slug, name
    ("getting-started", "Getting started"),
    ("account-and-sign-in", "Account and sign-in"),
    ("billing-and-plans", "Billing and plans"),
    ("import-and-export", "Import and export"),
    ("reports-and-dashboards", "Reports and dashboards"),
    ("integrations-and-api", "Integrations and API"),
]


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    category: str  # a slug of CATEGORIES
    title: str
    summary: str
    body: str
    # Days before the seed's day it was published, THIS_QUARTER, or None for a draft.
    published: int | str | None
    author: str  # a demo username


ARTICLES = [
    DemoArticle(
        "set-up-your-workspace",
        "getting-started",
        "Set up your workspace in five steps",
        "From an empty account to your team's first report in under an hour.",
        """Welcome aboard! These five steps get a new workspace ready for your team.

1. **Name your workspace** and upload your logo under *Settings → Workspace*.
2. **Invite your team** (see [Invite your team and choose their roles](/help/invite-your-team/)).
3. **Import your contacts** from a spreadsheet: *Import → Contacts*.
4. **Connect your mailbox** so replies land on the right record.
5. **Open the starter dashboard** and pin the reports you read every week.

Most teams are done in under an hour. If you get stuck, reply to your welcome email: a person
reads every message.
""",
        420,
        "carla",
    ),
    DemoArticle(
        "invite-your-team",
        "getting-started",
        "Invite your team and choose their roles",
        "Add users, pick a role for each and decide what they can see.",
        """Only workspace admins can invite people.

1. Go to *Settings → Users* and click **Invite**.
2. Enter one email address per line.
3. Choose a role:
   - **Member** works on records and sees their team's data;
   - **Manager** also reads every report and sets goals;
   - **Admin** changes settings and billing.
4. Click **Send invitations**. Links stay valid for seven days.

Each invited person takes a seat on your plan once they accept. Need more seats? See
[Upgrade, downgrade or add seats](/help/change-your-plan/).
""",
        380,
        "carla",
    ),
    DemoArticle(
        "reset-your-password",
        "account-and-sign-in",
        "Reset your password",
        "Request a reset link, and what to do when the email does not arrive.",
        """On the sign-in page, click **Forgot your password?** and enter your work email.
The link arrives within a minute and works once, for one hour.

**No email?**

- Look in your spam or quarantine folder; the sender is `no-reply@` our domain.
- Ask your IT team to allow our sending domain: some filters hold new senders for hours.
- Check the address: the link only goes to the email your admin invited.

Still nothing after ten minutes? Contact support with the exact address you typed.
""",
        360,
        "bruno",
    ),
    DemoArticle(
        "cannot-sign-in",
        "account-and-sign-in",
        "Can't sign in? Check these first",
        "Locked accounts, single sign-on and browser settings.",
        """Most sign-in problems come down to one of these:

- **Too many attempts.** After five wrong passwords the account locks for 15 minutes.
  Wait, then [reset your password](/help/reset-your-password/).
- **Single sign-on.** If your company signs in with SSO, use the **Sign in with SSO**
  button: your usual password will not work here.
- **Deactivated user.** Ask an admin in your company to check *Settings → Users*.
- **Cookies blocked.** Allow cookies for our domain, or try a private window.

When you contact us, tell us the time of your last attempt: it helps us find it in the logs.
""",
        300,
        "bruno",
    ),
    DemoArticle(
        "two-factor-authentication",
        "account-and-sign-in",
        "Turn on two-factor authentication",
        "Protect your account with an authenticator app.",
        """1. Open *Profile → Security* and click **Turn on two-factor**.
2. Scan the QR code with an authenticator app.
3. Enter the six-digit code to confirm.
4. Save the ten recovery codes somewhere safe: each works once if you lose your phone.

Admins can require two-factor authentication for everyone under *Settings → Security*.
""",
        THIS_QUARTER,
        "bruno",
    ),
    DemoArticle(
        "understand-your-invoice",
        "billing-and-plans",
        "Understand your invoice",
        "Pro-rated charges, add-ons and taxes line by line.",
        """Each invoice lists your plan, then one line per add-on, then taxes.

**Why is this invoice higher than usual?** Seats or add-ons added during the month are
charged *pro rata*: you pay for the days left in the billing period on the next invoice.

**Why is it lower?** Removed seats are credited the same way.

Download any past invoice as PDF from *Settings → Billing → Invoices*. If a line still looks
wrong, reply to the invoice email and we will check it with you.
""",
        340,
        "carla",
    ),
    DemoArticle(
        "change-billing-details",
        "billing-and-plans",
        "Change your billing address or VAT number",
        "Update the details printed on your next invoices.",
        """Admins can change billing details at any time:

1. Go to *Settings → Billing → Billing details*.
2. Edit the company name, address or VAT number.
3. Click **Save**.

Changes apply from the next invoice. We cannot reissue invoices that are already paid, but we
can send a credit note and a corrected invoice: contact support with the invoice number.
""",
        250,
        "bruno",
    ),
    DemoArticle(
        "change-your-plan",
        "billing-and-plans",
        "Upgrade, downgrade or add seats",
        "Move between Starter, Team, Business and Enterprise, or add seats.",
        """Open *Settings → Billing → Plan*.

- **Upgrade** takes effect at once; the difference is charged pro rata.
- **Downgrade** takes effect at the end of the current term.
- **Seats** can be added any day and removed at renewal.

Add-ons (Analytics, Help desk, Marketing) are switched on from the same page. Enterprise
contracts are changed by your account manager.
""",
        150,
        "carla",
    ),
    DemoArticle(
        "import-contacts-from-csv",
        "import-and-export",
        "Import contacts from a CSV file",
        "Prepare the file, match the columns and fix rows that fail.",
        """1. Save your spreadsheet as **CSV, UTF-8**.
2. Keep one header row: *First name*, *Last name*, *Email*, *Company*, *Phone*.
3. Go to *Import → Contacts*, choose the file and match each column.
4. Click **Check file**: nothing is saved until every row passes.

**Common errors**

| Message | Fix |
|---|---|
| Unknown column | Rename the header or leave the column unmatched. |
| Invalid email | Correct the address or clear the cell. |
| File is not UTF-8 | Save again as *CSV UTF-8* (Excel: *Save as → CSV UTF-8*). |

Files up to 50,000 rows import in the background; you get an email when they are done.
""",
        320,
        "bruno",
    ),
    DemoArticle(
        "export-to-excel",
        "import-and-export",
        "Export your data to Excel or CSV",
        "Export any list with the columns and filters you see.",
        """Every list has an **Export** button. The export holds the rows that match your
filters, with the columns you chose.

- **CSV** opens in any spreadsheet tool.
- **Excel (.xlsx)** keeps dates and amounts as numbers.

Exports over 10,000 rows are prepared in the background and emailed to you as a link.
""",
        THIS_QUARTER,
        "bruno",
    ),
    DemoArticle(
        "report-numbers-differ",
        "reports-and-dashboards",
        "Why a report number differs from what you expect",
        "Periods, time zones and filters explained.",
        """When a number looks off, check these three things:

1. **The period.** "This month" ends today; a comparison with last month uses the same number
   of days.
2. **The time zone.** Reports use the workspace's time zone, not your laptop's.
3. **The filter.** A dashboard filtered on one team counts only that team's records.

Click any number to see the records behind it. If those records look right but the total does
not, send us a screenshot and the dashboard's link.
""",
        200,
        "bruno",
    ),
    DemoArticle(
        "speed-up-a-slow-dashboard",
        "reports-and-dashboards",
        "Speed up a slow dashboard",
        "Fewer widgets, shorter periods, and when to contact us.",
        """Dashboards with many widgets over long periods take longer to load.

- Keep to around ten widgets per dashboard; split the rest into a second one.
- Prefer *last 12 months* to *all time*.
- Remove widgets nobody has opened for a month.

If a dashboard with a few widgets takes more than five seconds, contact support with its link:
we look at the slow query for you.
""",
        THIS_QUARTER,
        "bruno",
    ),
    DemoArticle(
        "reconnect-your-mailbox",
        "integrations-and-api",
        "Reconnect your mailbox when email sync stops",
        "Expired permissions and changed passwords stop the sync.",
        """Email sync stops when the mailbox provider withdraws our access, most often after a
password change or when an IT policy expires app permissions.

1. Open *Profile → Email*.
2. Click **Reconnect** next to the mailbox and sign in again.
3. Wait a few minutes: the emails received meanwhile are synced automatically.

If the button is missing, your admin may have turned off mailbox sync for the workspace.
""",
        THIS_QUARTER,
        "bruno",
    ),
    DemoArticle(
        "api-errors",
        "integrations-and-api",
        "API errors and what they mean",
        "Status codes, rate limits and what to send us.",
        """| Status | Meaning | What to do |
|---|---|---|
| 400 | The request body is invalid | Read the `errors` field of the response. |
| 401 | Missing or expired token | Create a new token under *Profile → API*. |
| 404 | No such record, or not visible to the token's user | Check the id and the user. |
| 429 | Too many requests | Wait for the seconds in `Retry-After`. |
| 500 | Our error | Retry once; if it persists, contact support. |

When you report a 500, include the time, the endpoint and the `X-Request-ID` header of the
response: it takes us straight to the failing request.
""",
        THIS_QUARTER,
        "bruno",
    ),
    DemoArticle(
        "keyboard-shortcuts",
        "getting-started",
        "Keyboard shortcuts",
        "Move around without the mouse.",
        """Press `?` anywhere to see every shortcut.

- `g` then `d`: go to deals
- `/`: search
- `n`: new record on the current list
""",
        None,
        "bruno",
    ),
    DemoArticle(
        "schedule-a-report",
        "reports-and-dashboards",
        "Schedule a report by email",
        "Send a dashboard to your inbox every Monday.",
        """Draft: waiting for the scheduling feature to leave beta.

Open a dashboard, click **Share → Schedule** and pick the day and the recipients.
""",
        None,
        "carla",
    ),
    DemoArticle(
        "webhook-retries",
        "integrations-and-api",
        "Webhooks: retries and signatures",
        "How we retry failed deliveries and how to check the signature.",
        """Draft: to be reviewed by engineering.

A delivery that does not answer 2xx within ten seconds is retried up to five times, with
growing pauses. Each request carries a signature header computed with your webhook secret.
""",
        None,
        "bruno",
    ),
]


def seed_knowledge_base(*, today: date, users: dict[str, User]) -> tuple[dict[str, datetime], int]:
    """Create the demo categories and articles that do not exist yet (looked up by slug, so an
    edited or removed article is left as it is). Returns the publication time of each published
    demo article by slug, and how many articles were created.

    Like the rest of the seed this is imported content: no events, and every time is before
    `today`.
    """
    categories = {}
    with transaction.atomic():
        for order, (slug, name) in enumerate(CATEGORIES):
            categories[slug], _created = ArticleCategory.objects.get_or_create(
                slug=slug, defaults={"name": name, "order": order}
            )
        existing = set(
            Article.objects.filter(slug__in=[a.slug for a in ARTICLES]).values_list(
                "slug", flat=True
            )
        )
        new = []
        for article, published_at in zip(ARTICLES, _publication_times(today), strict=True):
            if article.slug in existing:
                continue
            new.append(
                Article(
                    title=article.title,
                    slug=article.slug,
                    category=categories[article.category],
                    summary=article.summary,
                    body=article.body,
                    status=ArticleStatus.PUBLISHED if published_at else ArticleStatus.DRAFT,
                    published_at=published_at,
                    author=users.get(article.author),
                    created_at=(published_at or _at(today - timedelta(days=1))) - timedelta(days=3),
                )
            )
        Article.objects.bulk_create(new)
    published = dict(
        Article.objects.published()
        .filter(slug__in=[a.slug for a in ARTICLES])
        .values_list("slug", "published_at")
    )
    return published, len(new)


def _publication_times(today: date) -> list[datetime | None]:
    """Each article's publication time: `published` days before today, or spread over the
    current quarter so far like the demo goal's progress updates, or None for a draft."""
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    elapsed = (today - quarter_start).days
    this_quarter = [a for a in ARTICLES if a.published == THIS_QUARTER]
    times, index = [], 0
    for article in ARTICLES:
        if article.published is None:
            times.append(None)
        elif article.published == THIS_QUARTER:
            index += 1
            day = quarter_start + timedelta(days=elapsed * index // (len(this_quarter) + 1))
            times.append(_at(min(day, today - timedelta(days=1))))
        else:
            times.append(_at(today - timedelta(days=article.published)))
    return times


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10)))
