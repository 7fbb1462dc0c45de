"""The runtime's error types.

Every problem the runtime reports is a ``RecoError`` (a ``ValueError``), so callers can catch one
type. ``ArtifactError`` marks a missing, corrupt or mismatched model or catalog artifact: the
caller (the serving layer) is expected to fall back to the slot's fallback variant.
"""


class RecoError(ValueError):
    """Invalid input or state in ``reco_runtime``."""


class ArtifactError(RecoError):
    """A model or catalog artifact is missing, corrupt, or does not match the catalog."""
