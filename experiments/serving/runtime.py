"""The process-wide serving state holder."""

from .state import ServingState, StateHolder

_holder = StateHolder()


def serving_state() -> ServingState:
    return _holder.get()


def serving_state_reset() -> None:
    """Forget the state so the next request reloads it (tests; after a retrain in-process)."""
    _holder.reset()
