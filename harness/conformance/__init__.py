"""Case metadata, verdicts and the checks' findings."""

from harness.conformance.case import Case, Verdict, case

__all__ = ["Case", "Verdict", "case"]
