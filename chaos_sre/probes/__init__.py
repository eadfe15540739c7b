"""Chaos Toolkit probes: read-only questions about AWS state and the service endpoint."""
