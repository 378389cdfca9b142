"""Demo imports and exports, called by seed_demo after seeding (CRM_AFTER_SEED): Ana has
imported a contact list from a trade fair (two rows refused, so the report and its failed-rows
CSV show), and Carla has a deal export ready to download. Run in place, not by a worker, so
the demo shows them finished on first run."""

from django.core.files.uploadedfile import SimpleUploadedFile

from crm.models import User
from exports.models import ExportJob
from exports.services import export_job_run, export_job_start

from .models import ImportJob
from .services import import_run, import_start, import_upload

TRADE_FAIR_CSV = """First name,Last name,Email,Phone,Job title
Inês,Carvalho,ines.carvalho@lisbon-logistics.example,+351 21 555 0101,Head of Operations
Tomás,Ferreira,tomas.ferreira@porto-foods.example,+351 22 555 0102,Buyer
Giulia,Romano,giulia.romano@milano-retail.example,+39 02 5550 103,IT Manager
Lucía,Navarro,lucia.navarro@valencia-energy.example,+34 96 555 0104,CFO
Henrik,Larsen,henrik.larsen@aarhus-marine.example,+45 86 55 0105,Procurement
Amélie,Durand,amelie.durand@lyon-medical.example,+33 4 55 55 0106,Operations Director
Noah,Becker,noah.becker@hamburg-freight.example,+49 40 555 0107,Fleet Manager
Sara,Lindqvist,sara.lindqvist@gothenburg-tools.example,+46 31 555 0108,Head of Sales
,,no-name@example,,
Marek,Nowak,not-an-email,+48 22 555 0110,Engineer
"""


def seed_demo_transfers(**_ignored) -> None:
    """One finished import (eight contacts added, two rows refused) and one finished export.
    Made once: a second seed finds them and does nothing."""
    ana = User.objects.filter(username="ana").first()
    carla = User.objects.filter(username="carla").first()
    if ana is not None and not ImportJob.objects.filter(created_by=ana).exists():
        _import_trade_fair_contacts(ana)
    if carla is not None and not ExportJob.objects.filter(owner=carla).exists():
        job = export_job_start(user=carla, source="deals", fmt="csv", query="status=open")
        export_job_run(job_id=job.pk)


def _import_trade_fair_contacts(user) -> None:
    upload = SimpleUploadedFile(
        "trade-fair-contacts.csv", TRADE_FAIR_CSV.encode(), content_type="text/csv"
    )
    job = import_upload(user=user, record_type="contact", uploaded=upload)
    import_start(job)
    import_run(job.pk)
