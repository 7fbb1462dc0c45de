"""Parse and validate an assignment request body into ``AssignmentInput``.

Strict about types: a field of the wrong type is a 400 naming the field (``context.cart``),
never silently read as empty. ``null`` (or an empty string for the optional strings) means
"not given".
"""

from experiments.services.assignments import AssignmentInput

from .errors import ApiError

MAX_SLOTS = 50
MAX_K = 100
MAX_CART = 100


def _opt_string(data: dict, name: str, *, max_len: int = 128, path: str = "") -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_len:
        field = path + name
        raise ApiError(
            code="invalid_field", field=field, detail=f"{field} must be a string of at most {max_len}."
        )
    return value


def _string_list(value, name: str, limit: int) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > limit or not all(isinstance(v, str) and v for v in value):
        raise ApiError(
            code="invalid_field", field=name, detail=f"{name} must be a list of at most {limit} strings."
        )
    return tuple(value)


def assignment_input_parse(data: dict) -> AssignmentInput:
    session_id = _opt_string(data, "session_id")
    if session_id is None:
        raise ApiError(code="required", field="session_id", detail="session_id is required.")
    slots = data.get("slots")
    slots = None if slots is None else _string_list(slots, "slots", MAX_SLOTS)
    context = data.get("context")
    context = {} if context is None else context
    if not isinstance(context, dict):
        raise ApiError(code="invalid_field", field="context", detail="context must be an object.")
    k = data.get("k")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K):
        raise ApiError(code="invalid_field", field="k", detail=f"k must be an integer from 1 to {MAX_K}.")
    cart = context.get("cart")
    return AssignmentInput(
        session_id=session_id,
        user_id=_opt_string(data, "user_id"),
        slots=slots,
        page=_opt_string(context, "page", max_len=32, path="context.") or "product",
        product_id=_opt_string(context, "product_id", max_len=64, path="context."),
        cart=() if cart is None else _string_list(cart, "context.cart", MAX_CART),
        device=_opt_string(context, "device", max_len=32, path="context."),
        k=k,
    )
