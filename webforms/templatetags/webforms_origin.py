"""Where a record came from, on its page: the web form (its campaign) and the UTM parameters
of the submission that created it."""

from django import template

from webforms.models import WebFormSubmission

register = template.Library()


@register.inclusion_tag("webforms/_lead_origin.html")
def lead_web_origin(lead):
    submission = (
        WebFormSubmission.objects.filter(lead_id=lead.pk)
        .select_related("form")
        .only("utm", "received_at", "form__name")
        .first()
    )
    return {"submission": submission}
