"""meeting-vault shared package: models, domain logic and adapters used by every Lambda.

Domain modules (no I/O): ``events``, ``envelope``, ``keys``, ``routing``, ``signature`` (pure verify).
Adapters (I/O, clients injected): ``adapters.*``.
"""
