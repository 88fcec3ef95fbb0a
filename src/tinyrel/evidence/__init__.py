"""Eval evidence: per-item records, the statistics over them, and the numbers they support."""
