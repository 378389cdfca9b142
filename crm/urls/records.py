"""Leads, contacts and companies: lists, forms, detail pages and their actions."""

from django.urls import path

from crm.views import companies, contacts, leads

urlpatterns = [
    path("leads/", leads.lead_list, name="leads"),
    path("leads/new/", leads.lead_create, name="lead-create"),
    path("leads/columns/", leads.lead_columns, name="lead-columns"),
    path("leads/bulk/", leads.lead_bulk, name="lead-bulk"),
    path("leads/<int:pk>/", leads.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/edit/", leads.lead_edit, name="lead-edit"),
    path("leads/<int:pk>/qualify/", leads.lead_qualify, name="lead-qualify"),
    path("leads/<int:pk>/disqualify/", leads.lead_disqualify, name="lead-disqualify"),
    path("leads/<int:pk>/convert/", leads.lead_convert, name="lead-convert"),
    path("contacts/", contacts.contact_list, name="contacts"),
    path("contacts/new/", contacts.contact_create, name="contact-create"),
    path("contacts/columns/", contacts.contact_columns, name="contact-columns"),
    path("contacts/bulk/", contacts.contact_bulk, name="contact-bulk"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact-detail"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact-edit"),
    path("companies/", companies.company_list, name="companies"),
    path("companies/new/", companies.company_create, name="company-create"),
    path("companies/columns/", companies.company_columns, name="company-columns"),
    path("companies/bulk/", companies.company_bulk, name="company-bulk"),
    path("companies/<int:pk>/", companies.company_detail, name="company-detail"),
    path("companies/<int:pk>/edit/", companies.company_edit, name="company-edit"),
]
