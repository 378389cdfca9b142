"""`{{ message.body|message_html }}`: a ticket message with its links clickable, nothing else
HTML (see crm.ticket_text)."""

from django import template

from crm.ticket_text import message_html as _message_html
from crm.ticket_text import message_plain as _message_plain

register = template.Library()


@register.filter
def message_html(body):
    return _message_html(str(body or ""))


@register.filter
def message_plain(body):
    return _message_plain(str(body or ""))
