"""A meeting bot's real-time events (seed 000, ``POST /webhooks/meeting-bot``): request
authentication (``auth``), the payloads (``payloads``), object keys (``keys``), the ack path
(``ingest``), normalized files (``normalize``), the session files (``recorder``) and raw audio
assembled into WAV files (``audio``, ``streams``). Layout and settings: ``docs/meeting-bot.md``."""
