"""The small core every capability uses: settings (``config``), typed errors (``exceptions``), the one
logger, metrics and tracer (``observability``, ``tracing``), and once-only work (``idempotency``)."""
