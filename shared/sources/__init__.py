"""Sources other than RealtimeKit's webhooks, one folder per provider, archived into the same layout
and open formats: ``meeting_bot`` (a meeting bot's real-time events, seed 000) and ``live_relay`` (a
meeting bot's live transcription WebSocket, seed 004)."""
