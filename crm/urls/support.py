"""The support desk: the agents' queue and ticket pages, the knowledge base, and the pages
customers use without an account (contact form, their ticket, surveys, help centre)."""

from django.urls import path

from crm.views import knowledge, public, tickets

urlpatterns = [
    # Agents
    path("tickets/", tickets.queue, name="tickets"),
    path("tickets/new/", tickets.create, name="ticket-create"),
    path("tickets/bulk/", tickets.bulk, name="ticket-bulk"),
    path("tickets/nps/", tickets.nps_send, name="tickets-nps"),
    path("tickets/companies/", tickets.company_options, name="ticket-companies"),
    path("tickets/<int:pk>/", tickets.ticket_page, name="ticket-detail"),
    path("tickets/<int:pk>/reply/", tickets.reply, name="ticket-reply"),
    path("tickets/<int:pk>/handling/", tickets.handling, name="ticket-handling"),
    path("tickets/<int:pk>/resolve/", tickets.resolve, name="ticket-resolve"),
    path("tickets/<int:pk>/reopen/", tickets.reopen, name="ticket-reopen"),
    path("knowledge/", knowledge.article_list, name="knowledge"),
    path("knowledge/new/", knowledge.article_create, name="article-create"),
    path("knowledge/picker/", knowledge.article_picker, name="article-picker"),
    path("knowledge/<int:pk>/", knowledge.article_detail, name="article-detail"),
    path("knowledge/<int:pk>/edit/", knowledge.article_edit, name="article-edit"),
    # Customers, no login
    path("support/", public.contact_support, name="support-contact"),
    path("support/thanks/", public.contact_thanks, name="support-thanks"),
    path("support/ticket/<str:token>/", public.customer_ticket, name="support-ticket"),
    path("surveys/<str:token>/", public.survey, name="survey"),
    path("help/", public.help_index, name="help"),
    path("help/<slug:slug>/", public.help_article, name="help-article"),
]
