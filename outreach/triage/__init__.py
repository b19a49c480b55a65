"""Triage of free text: red flags in English and Spanish, read in context (CLINICAL §2, §3)."""

from outreach.triage.assessment import Assessment, assess
from outreach.triage.context import ContextFlags, assess_context, context_of, find_term
from outreach.triage.language import detect_language
from outreach.triage.redflags import screen, severity_of

__all__ = [
    "Assessment",
    "ContextFlags",
    "assess",
    "assess_context",
    "context_of",
    "detect_language",
    "find_term",
    "screen",
    "severity_of",
]
