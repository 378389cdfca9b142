"""What a record page shows beside its fields: the log-activity box, its tasks and its timeline.

Record detail views call `record_panels(request, record)` and add the result to their context;
their template includes "crm/_record_panels.html".
"""


def record_panels(request, record) -> dict:
    return {"panel_record": record}
