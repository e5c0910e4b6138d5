"""Tamper Workbench core: everything that is not GUI.

Evidence loading, the detector registry, post-processing, metrics, reports and the command line.
This package never imports Qt.
"""

__version__ = "0.1.0"
