"""Why a take or one of its hands cannot be used; messages are meant for the clinician."""


class TakeUnusableError(ValueError):
    """The whole take cannot be prepared (too short, no playing found)."""


class HandUnusableError(ValueError):
    """One hand cannot be prepared (not found in too many frames, lost too long)."""
