"""The one error type of the bandits package."""


class BanditError(ValueError):
    """Invalid input to a bandits function; the message says how to fix it."""
