"""Analyst report pages (HTML with offline plotly charts, and CSV) over the report selectors."""
