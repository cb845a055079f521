"""meeting-vault's Lambda code, one folder per capability, in the order a webhook travels:

``ingest`` (verify and put on the bus) -> ``fanout`` (bus rules to queues) -> ``session`` (the record and
``session.json``) and ``archive`` (files into the bucket) -> ``normalize`` (open formats) -> ``summary``;
``reconcile`` sweeps for what never arrived. ``adapters`` talk to AWS and RealtimeKit; ``core`` holds
settings, errors, observability and idempotency. ``wiring`` builds the collaborators of a running
function; nothing else in this package imports it.
"""
