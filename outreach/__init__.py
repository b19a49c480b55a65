"""The domain: programs, conversations, parsing, triage, scheduling and escalation (no I/O)."""
