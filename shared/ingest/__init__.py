"""The webhook ack path: ``signature`` (verify the raw bytes), ``events`` (the payload models),
``envelope`` (what goes on the bus), ``ack`` (size, media type, verify, parse, PutEvents) and ``http``
(API Gateway proxy events in, status codes out). Nothing here downloads or calls RealtimeKit's REST API."""
