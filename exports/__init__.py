"""Exports of the lists, the KPI drill-downs and whole record types, as CSV and XLSX.

For other apps (imports' round-trip test, metrics):
- `exports.cells.safe_cell(value)` / `csv_cell(value)`: one cell a spreadsheet will not run
  (text starting with = + - @ tab or CR gets a leading apostrophe; numbers stay numbers).
- `exports.tables.export_rows(queryset, columns) -> Iterator[list]`: the rows of any
  queryset as raw cell values, `columns` being `tables.ExportColumn(label, record -> value)`.
- `exports.services.whole_type_csv(record_type=, user=, file=) -> int`: every record of a
  type (company, contact, lead, deal, task, ticket, subscription, expense), every field and
  custom field, as CSV with a BOM; admins (crm.access.may_export_all). Headers are the
  fields' names and the custom fields' keys; values as stored (choice codes, ISO dates,
  true/false), people by username, contacts by email, other records by name.
- `exports.services.build_table(user=, source=, query=) -> tables.Table`: a list's export
  (`source` a key of exports.sources.SOURCES, `query` its query string) or a whole type
  (`source="type:<record type>"`).
"""
