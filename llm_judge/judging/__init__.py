"""Judging: prompts, verdict parsers, matches and the judge runner."""
