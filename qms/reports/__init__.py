"""PDF reports: printable records for audits and registers (reportlab, no Flask).

Each function takes model objects and strings and returns the PDF as bytes.
"""

from .nonconformities import load_history, nonconformity_report, register_load_options, register_report

__all__ = ["load_history", "nonconformity_report", "register_load_options", "register_report"]
