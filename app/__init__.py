"""Tamper Workbench desktop application (PySide6 + pyqtgraph).

Qt views only: every number shown here is computed by :mod:`forensics_core`.
"""
