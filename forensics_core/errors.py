"""Exceptions that carry a message meant for a person, not a traceback."""

from __future__ import annotations


class ForensicsError(Exception):
    """Base class of every error the workbench reports to its user."""


class EvidenceError(ForensicsError):
    """The questioned file cannot be loaded (missing, corrupt, unsupported, too large...)."""


class WeightsError(ForensicsError):
    """A weights file is missing, corrupt, or does not match its manifest entry."""


class ParameterError(ForensicsError):
    """A detector parameter is unknown or out of its declared range."""


class Cancelled(ForensicsError):
    """A run was stopped by the user; no result was produced."""
