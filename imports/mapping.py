"""Which column goes to which field: guessed from the headers (field names and labels in any of
the site's languages, common synonyms in English, Portuguese, Spanish and Italian), and the
user's own choices from their last import of that record type first."""

import re
import unicodedata

from django.conf import settings
from django.utils import translation

from .kinds import CUSTOM_PREFIX, EXTERNAL_ID, Target, targets_for
from .models import ImportMapping

SYNONYMS = {
    "name": [
        "name",
        "nome",
        "nombre",
        "company",
        "empresa",
        "azienda",
        "account",
        "full name",
        "nome completo",
        "nombre completo",
        "razao social",
        "ragione sociale",
    ],
    "first_name": [
        "first name",
        "firstname",
        "given name",
        "forename",
        "primeiro nome",
        "nome proprio",
        "nombre de pila",
        "nome di battesimo",
    ],
    "last_name": [
        "last name",
        "lastname",
        "surname",
        "family name",
        "sobrenome",
        "apellido",
        "apellidos",
        "cognome",
    ],
    "email": [
        "email",
        "e mail",
        "mail",
        "email address",
        "correo",
        "correo electronico",
        "posta elettronica",
        "endereco de email",
    ],
    "phone": [
        "phone",
        "telephone",
        "tel",
        "mobile",
        "cell",
        "phone number",
        "telefone",
        "celular",
        "telefono",
        "movil",
        "cellulare",
    ],
    "title": [
        "title",
        "job title",
        "position",
        "role",
        "cargo",
        "puesto",
        "ruolo",
        "titolo",
        "task",
        "tarefa",
        "tarea",
        "compito",
    ],
    "company": [
        "company",
        "company name",
        "account",
        "organization",
        "organisation",
        "empresa",
        "azienda",
        "societa",
        "organizacao",
        "organizacion",
    ],
    "company_name": ["company", "company name", "organization", "empresa", "azienda"],
    "domain": ["domain", "website", "web", "site", "url", "dominio", "sitio web", "sito web"],
    "owner": [
        "owner",
        "account owner",
        "sales rep",
        "salesperson",
        "responsavel",
        "dono",
        "propietario",
        "responsable",
        "proprietario",
        "responsabile",
    ],
    "assignee": [
        "assignee",
        "assigned to",
        "owner",
        "agent",
        "responsavel",
        "asignado a",
        "assegnato a",
    ],
    "team": ["team", "equipe", "equipo", "squadra"],
    "amount": ["amount", "value", "deal value", "valor", "importe", "monto", "importo", "valore"],
    "currency": ["currency", "moeda", "moneda", "valuta"],
    "expected_close_date": [
        "close date",
        "expected close",
        "expected close date",
        "data de fechamento",
        "fecha de cierre",
        "data di chiusura",
    ],
    "notes": ["notes", "note", "comments", "notas", "observacoes", "notas", "note"],
    "industry": ["industry", "sector", "setor", "industria", "settore"],
    "size_band": ["size", "employees", "company size", "tamanho", "tamano", "dimensione"],
    "address": ["address", "endereco", "direccion", "indirizzo"],
    "source": ["source", "lead source", "origem", "origen", "fonte"],
    "score": ["score", "lead score", "pontuacao", "puntuacion", "punteggio"],
    "subject": ["subject", "assunto", "asunto", "oggetto"],
    "description": ["description", "descricao", "descripcion", "descrizione", "message"],
    "due_at": ["due", "due date", "deadline", "prazo", "vencimento", "fecha limite", "scadenza"],
    "priority": ["priority", "prioridade", "prioridad", "priorita"],
    "plan_name": ["plan", "plan name", "plano", "piano", "product"],
    "monthly_value": [
        "mrr",
        "monthly value",
        "monthly",
        "valor mensal",
        "valor mensual",
        "valore mensile",
    ],
    "start_date": [
        "start",
        "start date",
        "inicio",
        "data de inicio",
        "fecha de inicio",
        "data di inizio",
    ],
    "end_date": ["end", "end date", "fim", "data de fim", "fecha de fin", "data di fine"],
    "spent_on": ["date", "spent on", "data", "fecha"],
    "category": ["category", "categoria"],
    "created_at": ["created", "created at", "created on", "criado em", "creado", "creato il"],
    EXTERNAL_ID: ["id", "external id", "record id", "crm id", "codigo", "codice", "ref"],
}
IGNORED_HEADERS = {"error"}  # the failed-rows CSV's own column


def normalise(header) -> str:
    text = unicodedata.normalize("NFKD", str(header)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _own_names(target: Target) -> list[str]:
    names = [target.key.removeprefix(CUSTOM_PREFIX).replace("_", " "), str(target.label)]
    if target.custom is not None:
        names += [target.custom.key, target.custom.label]
    return [normalise(name) for name in names]


def _labels_in_every_language(record_type: str) -> dict[str, str]:
    """Normalised field labels of each site language → target key."""
    found = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for target in targets_for(record_type):
                found.setdefault(normalise(target.label), target.key)
    return found


def guess_mapping(record_type: str, headers: list[str], user) -> dict[str, str]:
    """Column index (text) → target key; each target used once, the leftmost column wins."""
    targets = targets_for(record_type)
    keys = {target.key for target in targets}
    remembered = _remembered(user, record_type)
    # A field's own name beats another field's synonym ("company" on a deal is its company).
    by_name: dict[str, str] = {}
    for target in targets:
        for name in _own_names(target):
            by_name.setdefault(name, target.key)
    for name, key in _labels_in_every_language(record_type).items():
        by_name.setdefault(name, key)
    for target in targets:
        for name in SYNONYMS.get(target.key, []):
            by_name.setdefault(normalise(name), target.key)
    mapping, used = {}, set()
    for index, header in enumerate(headers):
        name = normalise(header)
        if not name or name in IGNORED_HEADERS:
            continue
        key = remembered.get(name) or by_name.get(name)
        if key and key in keys and key not in used:
            mapping[str(index)] = key
            used.add(key)
    return mapping


def remember_mapping(user, record_type: str, headers: list[str], mapping: dict) -> None:
    columns = {
        normalise(headers[int(index)]): key
        for index, key in mapping.items()
        if int(index) < len(headers) and normalise(headers[int(index)])
    }
    existing = _remembered(user, record_type)
    ImportMapping.objects.update_or_create(
        user=user, record_type=record_type, defaults={"columns": {**existing, **columns}}
    )


def _remembered(user, record_type: str) -> dict:
    row = ImportMapping.objects.filter(user=user, record_type=record_type).first()
    return row.columns if row else {}
