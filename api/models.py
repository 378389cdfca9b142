"""The API's own rows (tokens, idempotency keys); the records are the crm app's."""
