"""The session record: ``intake`` (the sessions consumer: raw bodies under ``events/``), ``model`` (facts
and the files derived from them), ``store`` (the DynamoDB record) and ``recorder`` (record a fact, rewrite
the derived files)."""
