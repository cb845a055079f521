"""Sources other than RealtimeKit's webhooks, one folder per provider, archived into the same layout
and open formats: ``live_relay`` (a meeting bot's live transcription WebSocket)."""
