"""Words of the demo records: what customers write to support and what people put on their
to-do lists, varied per record and per step, so lists read like a team's real work (issue 15,
item 10: most demo tasks were titled "Next step").

Templates take `first` (the person's first name) and `company`.
"""

from dataclasses import dataclass

from .models import DealKind


@dataclass(frozen=True)
class TicketTopic:
    subject: str
    area: str  # a choice of the ticket custom field "product_area" (crm.demo_fields)
    description: str
    article: str | None  # slug of the help article an agent links (crm.demo_articles)


TICKET_TOPICS = [
    TicketTopic(
        "Cannot log in",
        "Sign-in and accounts",
        "Since this morning I get “invalid password” although I am sure it is right. "
        "Colleagues can sign in. Can you check my account?",
        "cannot-sign-in",
    ),
    TicketTopic(
        "Import fails on CSV upload",
        "Import and export",
        "I am importing 3,000 contacts from our old tool and the upload stops with “row 412: "
        "invalid value”. The row looks fine to me. File attached.",
        "import-contacts-from-csv",
    ),
    TicketTopic(
        "Invoice shows the wrong amount",
        "Billing",
        "Our latest invoice is higher than our plan price. We did add two seats mid-month; is "
        "that the difference? Please explain the lines.",
        "understand-your-invoice",
    ),
    TicketTopic(
        "How do I add a user?",
        "Sign-in and accounts",
        "A new colleague starts on Monday. How do I give her access, and can she see only her "
        "team's records?",
        "invite-your-team",
    ),
    TicketTopic(
        "Report numbers look off",
        "Reports",
        "The revenue report says 48k for last month but our finance sheet says 51k. Which one "
        "is right?",
        "report-numbers-differ",
    ),
    TicketTopic(
        "Email sync stopped",
        "Integrations",
        "Emails from customers no longer appear on their records since Tuesday. Nothing changed "
        "on our side as far as I know.",
        "reconnect-your-mailbox",
    ),
    TicketTopic(
        "Feature request: bulk edit",
        "Other",
        "We would love to change the owner of many records at once: after a reorganisation we "
        "have 200 to move by hand.",
        None,
    ),
    TicketTopic(
        "Slow dashboard",
        "Reports",
        "Our sales dashboard takes almost a minute to load since last week. Other pages are fast.",
        "speed-up-a-slow-dashboard",
    ),
    TicketTopic(
        "API returns 500",
        "API",
        "Our nightly sync gets HTTP 500 from the contacts endpoint since yesterday, about one "
        "call in ten. Request ids are in the log excerpt below.",
        "api-errors",
    ),
    TicketTopic(
        "Change billing address",
        "Billing",
        "We moved offices. Please put the new address on our invoices from now on.",
        "change-billing-details",
    ),
    TicketTopic(
        "Export to Excel",
        "Import and export",
        "How can I export our pipeline with the custom columns to Excel for the board meeting?",
        "export-to-excel",
    ),
    TicketTopic(
        "Password reset email not received",
        "Sign-in and accounts",
        "I asked for a password reset three times and no email came, not even in spam.",
        "reset-your-password",
    ),
]

# The first reply that points the customer to a help article (Markdown, as the reply box's
# article picker inserts it).
ARTICLE_REPLY = (
    "Thanks for the details! This article walks through it step by step: [{title}]({url})\n\n"
    "Let me know if anything is still unclear."
)

FIRST_REPLIES = [
    "Thanks for reporting this! We are looking into it and will get back to you today.",
    "Thanks for getting in touch. Could you send a screenshot and the time it happened?",
    "Sorry for the trouble. I have reproduced it and passed it to our engineers.",
]
LATER_REPLIES = [
    "We found the cause and fixed it on our side. Could you try again?",
    "Thanks, here is what we did: we corrected the setting on your account.",
    "A fix is on its way; it will be live tomorrow morning.",
]
CUSTOMER_FOLLOW_UPS = [
    "Thanks, but it still does not work for me.",
    "Here is the screenshot you asked for.",
    "Any news on this?",
]
INTERNAL_NOTES = [
    "Internal: checked the logs, the error starts after their last import.",
    "Internal: asked engineering, known issue with a fix in review.",
]

LEAD_TASKS = [
    "Call {first} back",
    "Send {first} an intro email",
    "Book a discovery call with {first}",
    "Look at {company}'s website before the call",
    "Ask {first} about budget and timing",
    "Send {first} the product overview",
    "Answer {first}'s pricing question",
    "Follow up with {first} after the webinar",
]

# Open new-business deals: the next step of the stage they are in (by position among the
# pipeline's open stages: prospecting, qualification, proposal, negotiation).
DEAL_STAGE_TASKS = [
    [
        "Research {company}",
        "Book a discovery call with {first}",
        "Find the decision maker at {company}",
        "Send {first} a customer story from their industry",
    ],
    [
        "Confirm budget with {first}",
        "Map who signs off at {company}",
        "Run a product demo for {company}",
        "Send {first} the meeting notes and next steps",
    ],
    [
        "Send the proposal to {first}",
        "Prepare pricing options for {company}",
        "Follow up on the proposal with {first}",
        "Answer {company}'s security questionnaire",
    ],
    [
        "Send the order form to {first} for signature",
        "Get the discount approved",
        "Review {company}'s contract changes",
        "Plan the kick-off with {first}",
    ],
]
KIND_TASKS = {
    DealKind.RENEWAL: [
        "Review {company}'s usage before the renewal call",
        "Send the renewal quote to {first}",
        "Book the renewal call with {first}",
        "Check open tickets before {company}'s renewal",
    ],
    DealKind.UPSELL: [
        "Check seat usage at {company}",
        "Send the upgrade quote to {first}",
        "Show {first} what the higher plan adds",
    ],
    DealKind.CROSS_SELL: [
        "Demo the add-on to {first}",
        "Send the add-on quote to {company}",
        "Set up a trial of the add-on for {company}",
    ],
}

ONBOARDING_TASKS = [
    "Onboarding call with {first}",
    "Kick-off meeting with {company}",
    "Send {first} the onboarding checklist",
    "Set up {company}'s user accounts",
    "Admin training for {company}",
    "Check in with {first} after the first month",
]

TICKET_TASKS = [
    "Check the fix with {first}",
    "Ask engineering for an update",
    "Call {first} to confirm it works now",
    "Send {first} the workaround",
    "Update the help article for {company}'s case",
]

TASK_EFFORT = ["Under 15 minutes", "About an hour", "Half a day or more"]


def deal_task_titles(kind: str, stage_index: int) -> list[str]:
    """Titles for work on a deal of `kind` in its `stage_index`-th open stage."""
    if kind in KIND_TASKS:
        return KIND_TASKS[kind]
    return DEAL_STAGE_TASKS[min(max(stage_index, 0), len(DEAL_STAGE_TASKS) - 1)]
