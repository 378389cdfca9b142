"""Exports of the lists, the KPI drill-downs and whole record types, as CSV and XLSX.

For other apps (imports' round-trip test, metrics):
- `exports.cells.safe_cell(value)`: one cell a spreadsheet will not run (formula injection).
- `exports.tables.export_rows(queryset, columns) -> Iterator[list]`: the rows of any
  queryset as cell values, `columns` being `tables.ExportColumn`s.
- `exports.sources.whole_type_table(record_type, user) -> Table` and
  `exports.writers.write_csv(table, file)`: every record of a type the user sees, every
  field and custom field, as CSV (headers are the fields' names; see `sources`).
"""
