"""The live relay: a meeting bot's real-time transcription WebSocket (seed 004) relayed onto the bus
while the meeting runs and archived in the open formats when it ends.

``messages`` (the socket's messages, pure), ``transcript`` (the final files from what was relayed,
pure), ``chain`` (when the chain of legs ends, pure), ``store`` (the relay record in DynamoDB, the
rolling ``live/`` pieces in S3), ``leg`` (one connected leg) and ``finalize`` (write the files)."""
