"""Summary generation after a transcript is archived (issue 5).

Modes, chosen at deploy time (``SUMMARY_MODE``): ``realtimekit`` asks RealtimeKit once per session
to summarize (the summary then arrives as ``meeting.summary``), ``bedrock`` summarizes the normalized
transcript with the Bedrock Converse API, ``off`` does nothing. Pure code (prompts, chunking, the
summary document and its rendering) is kept apart from the adapters (``bedrock``, ``step``)."""
