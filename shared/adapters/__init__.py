"""Adapters: the only modules that talk to AWS or HTTP. Each takes its client as an argument."""
