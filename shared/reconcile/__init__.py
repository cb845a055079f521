"""Reconciliation (``sweep``): ask RealtimeKit what a session should have, and put what the archive lacks
on the bus for the normal consumers."""
