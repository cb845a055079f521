"""The session record: ``intake`` (the sessions consumer: raw bodies under ``events/``), ``model`` (facts
and the files derived from them), ``store`` (the DynamoDB record) ``recorder`` (record a fact, rewrite
the derived files) and ``attribution`` (the session of a legacy recording update without a meeting id)."""
