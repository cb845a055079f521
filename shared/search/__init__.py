"""Search across meetings: the utterance index (one JSON Lines row per utterance under
``index/utterances/date=YYYY-MM-DD/``) and the one SQL query that Athena (deployed) and DuckDB
(local mode, benchmarks) both run over it."""
