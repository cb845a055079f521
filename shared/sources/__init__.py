"""Sources other than RealtimeKit webhooks, one folder per provider (``meeting_bot``: a meeting
bot's real-time events, seed 000)."""
