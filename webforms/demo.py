"""Demo data, called by seed_demo after seeding (CRM_AFTER_SEED): a "Contact us" lead form
assigned in turn within the sales team, a support form, and a few submissions of each through
the same service a visitor's post uses, so the demo shows the feature alive. Run twice, it
adds nothing."""

import secrets

from crm.models import Team, User

from . import services
from .models import AssignRule, FormKind, WebForm

CONTACT_US = {
    "titles": {
        "en": "Contact us",
        "pt-br": "Fale conosco",
        "es": "Contáctenos",
        "it": "Contattaci",
    },
    "thank_you": {
        "en": "Thank you! Someone from our team will get back to you within one business day.",
        "pt-br": "Obrigado! Alguém da nossa equipe responderá em até um dia útil.",
        "es": "¡Gracias! Alguien de nuestro equipo le responderá en un día hábil.",
        "it": "Grazie! Qualcuno del nostro team ti risponderà entro un giorno lavorativo.",
    },
}
SUPPORT = {
    "titles": {
        "en": "Ask for help",
        "pt-br": "Peça ajuda",
        "es": "Pida ayuda",
        "it": "Chiedi aiuto",
    },
}
DEMO_LEADS = (
    ("Marta Silva", "marta.silva@example.com", "Silva Engenharia", {"utm_source": "google"}),
    ("Luca Bianchi", "luca@bianchi.example", "Bianchi Srl", {"utm_source": "newsletter"}),
    ("Sofía Pérez", "sofia.perez@example.org", "", {"utm_campaign": "black-friday"}),
)
DEMO_TICKETS = (
    ("Tom Baker", "tom.baker@example.com", "Cannot log in", "The reset link has expired."),
    ("Ana Costa", "ana.costa@example.com", "Invoice copy", "Could you send last month's?"),
)


def seed_demo_forms(*, scale: str = "small", today=None) -> dict:
    if WebForm.objects.filter(slug__in=("contact-us", "support")).exists():
        return {"forms": 0, "submissions": 0}
    contact_us = _contact_us_form()
    support = _support_form()
    made = 0
    for name, email, company, utm in DEMO_LEADS:
        values = {"name": name, "email": email, "company_name": company}
        services.submission_receive(
            form=contact_us, nonce=secrets.token_hex(16), values=values, utm=utm, language="en"
        )
        made += 1
    for name, email, subject, message in DEMO_TICKETS:
        values = {"name": name, "email": email, "subject": subject, "message": message}
        services.submission_receive(
            form=support, nonce=secrets.token_hex(16), values=values, utm={}, language="en"
        )
        made += 1
    return {"forms": 2, "submissions": made}


def _contact_us_form() -> WebForm:
    webform = services.webform_new(name="Contact us", kind=FormKind.LEAD)
    webform.slug = "contact-us"
    sales = Team.objects.filter(name="Sales").first()
    if sales is not None:
        webform.assign_rule, webform.team = AssignRule.ROUND_ROBIN, sales
    else:
        webform.assign_rule = AssignRule.OWNER
        webform.owner = User.objects.filter(username="ana").first()
        if webform.owner is None:
            webform.assign_rule = AssignRule.AUTOMATIONS
    webform.titles, webform.thank_you = CONTACT_US["titles"], CONTACT_US["thank_you"]
    return services.webform_save(form=webform)


def _support_form() -> WebForm:
    webform = services.webform_new(name="Support", kind=FormKind.TICKET)
    webform.slug = "support"
    webform.titles = SUPPORT["titles"]
    return services.webform_save(form=webform)
