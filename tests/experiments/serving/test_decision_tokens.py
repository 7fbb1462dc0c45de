"""Decision tokens: base64url exactly as the standard library writes and reads it, and a
signature that only the genuine key over the genuine payload passes."""

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.serving.decision_tokens import (
    DecisionPayload,
    TokenError,
    _b64,
    _unb64,
    token_sign,
    token_verify,
)

KEY = b"k" * 32


@given(raw=st.binary(max_size=300))
def test_b64_is_the_standard_urlsafe_encoding_without_padding(raw):
    encoded = _b64(raw)
    assert encoded == base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert _unb64(encoded) == raw


@given(text=st.text(max_size=40))
def test_unb64_accepts_and_refuses_what_the_standard_decoder_does(text):
    def outcome(decode):
        try:
            return decode(text)
        except ValueError:
            return ValueError

    standard = outcome(lambda t: base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))
    assert outcome(_unb64) == standard


def _payload(**changes) -> DecisionPayload:
    fields = {
        "decision_key": "0123456789abcdef",
        "slot_id": 3,
        "experiment_id": 7,
        "arm_id": 21,
        "allocation_version": 4,
        "propensity": 0.25,
        "served_at": 1_790_000_000,
        "holdout": False,
        "session_hash": "a1b2c3d4e5f6",
        "items": ("p-1", "p-2"),
    }
    return DecisionPayload(**(fields | changes))


def test_a_signed_token_verifies_to_its_payload_and_only_with_its_key():
    payload = _payload()
    token = token_sign(payload, key=KEY)
    assert token_verify(token, key=KEY) == payload
    with pytest.raises(TokenError, match="signature"):
        token_verify(token, key=b"other" * 8)
    body, tag = token.split(".")
    other_body = token_sign(_payload(arm_id=22), key=KEY).split(".")[0]
    with pytest.raises(TokenError, match="signature"):
        token_verify(f"{other_body}.{tag}", key=KEY)
    with pytest.raises(TokenError, match="encoding"):
        token_verify(f"{body}.{tag[:-1]}é", key=KEY)
    with pytest.raises(TokenError, match="not a decision token"):
        token_verify(body, key=KEY)
