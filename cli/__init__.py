"""Operator CLI and local runner. Never packaged into a Lambda."""
