"""Access and MFA-challenge JWTs: claims, expiry, tampering, wrong type / issuer / audience."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest

from reup_app.errors import NotAuthenticated
from reup_app.models.types import utcnow
from reup_app.security import tokens
from reup_app.security.tokens import (
    TokenExpired,
    TokenInvalid,
    create_access_token,
    create_challenge_token,
    decode_access_token,
    decode_challenge_token,
)
from reup_app.settings import get_settings


def _token(**kw):
    args = dict(user_id=7, entity_id=3, roles={"owner"}, is_platform_admin=False, token_version=2)
    args.update(kw)
    return create_access_token(**args)


def test_round_trip_claims():
    claims = decode_access_token(_token())
    assert claims.user_id == 7 and claims.entity_id == 3
    assert claims.roles == frozenset({"owner"}) and claims.token_version == 2
    assert claims.is_platform_admin is False
    raw = jwt.decode(_token(), options={"verify_signature": False})
    assert raw["typ"] == "access" and raw["iss"] == "reup" and raw["aud"] == "reup"
    assert raw["sub"] == "7" and raw["ent"] == 3 and raw["tv"] == 2 and raw["adm"] is False
    assert raw["jti"] and raw["exp"] - raw["iat"] <= 3600


def test_platform_admin_without_entity():
    claims = decode_access_token(_token(entity_id=None, roles=set(), is_platform_admin=True))
    assert claims.entity_id is None and claims.is_platform_admin and claims.roles == frozenset()


def test_each_token_has_its_own_jti():
    assert decode_access_token(_token()).jti != decode_access_token(_token()).jti


def test_expired_token_is_refused_with_expired_error():
    old = _token(now=utcnow() - timedelta(hours=2))
    with pytest.raises(TokenExpired) as e:
        decode_access_token(old)
    assert "expired" in str(e.value).lower()
    assert isinstance(e.value, NotAuthenticated)


def test_token_just_before_expiry_is_accepted():
    t = _token(now=utcnow() - timedelta(minutes=59, seconds=50))
    assert decode_access_token(t).user_id == 7


def test_lifetime_is_capped_at_60_minutes(monkeypatch):
    with pytest.raises(ValueError):
        _token(ttl=timedelta(minutes=61))
    long_settings = get_settings().model_copy(update={"access_token_minutes": 600})
    monkeypatch.setattr(tokens, "get_settings", lambda: long_settings)
    raw = jwt.decode(_token(), options={"verify_signature": False})
    assert raw["exp"] - raw["iat"] == 3600


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_tampered_payload_is_invalid():
    header, payload, sig = _token().split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["sub"] = "1"
    data["roles"] = ["owner", "admin"]
    forged = ".".join([header, _b64(data), sig])
    with pytest.raises(TokenInvalid):
        decode_access_token(forged)


def test_tampered_signature_is_invalid():
    t = _token()
    flipped = t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1]
    with pytest.raises(TokenInvalid):
        decode_access_token(flipped)


def test_token_signed_with_another_secret_is_invalid():
    payload = jwt.decode(_token(), options={"verify_signature": False})
    forged = jwt.encode(payload, "another-secret-of-sufficient-length-1234", algorithm="HS256")
    with pytest.raises(TokenInvalid):
        decode_access_token(forged)


def test_alg_none_is_invalid():
    payload = jwt.decode(_token(), options={"verify_signature": False})
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
    with pytest.raises(TokenInvalid):
        decode_access_token(forged)


@pytest.mark.parametrize(
    "change", [{"iss": "evil"}, {"aud": "other"}, {"typ": "refresh"}, {"sub": "abc"}, {"tv": None}, {"ent": "3"}]
)
def test_wrong_claims_are_invalid(change):
    payload = jwt.decode(_token(), options={"verify_signature": False})
    payload.update(change)
    forged = jwt.encode(payload, get_settings().secret_key, algorithm="HS256")
    with pytest.raises(TokenInvalid):
        decode_access_token(forged)


@pytest.mark.parametrize("missing", ["exp", "jti", "sub", "iat", "typ"])
def test_missing_claims_are_invalid(missing):
    payload = jwt.decode(_token(), options={"verify_signature": False})
    del payload[missing]
    forged = jwt.encode(payload, get_settings().secret_key, algorithm="HS256")
    with pytest.raises(TokenInvalid):
        decode_access_token(forged)


def test_wrong_typ_mfa_challenge_is_not_an_access_token():
    challenge = create_challenge_token(user_id=7, entity_id=3, token_version=1)
    with pytest.raises(TokenInvalid):
        decode_access_token(challenge)
    assert decode_challenge_token(challenge).user_id == 7


def test_access_token_is_not_an_mfa_challenge_and_challenge_types_differ():
    with pytest.raises(TokenInvalid):
        decode_challenge_token(_token())
    enrol = create_challenge_token(user_id=7, entity_id=None, token_version=1, typ=tokens.TYP_MFA_ENROL)
    with pytest.raises(TokenInvalid):
        decode_challenge_token(enrol, tokens.TYP_MFA)
    assert decode_challenge_token(enrol, tokens.TYP_MFA_ENROL).typ == "mfa_enrol"


def test_mfa_challenge_expires_after_five_minutes():
    c = create_challenge_token(user_id=7, entity_id=3, token_version=1, now=utcnow() - timedelta(minutes=6))
    with pytest.raises(TokenExpired):
        decode_challenge_token(c)
    raw = jwt.decode(
        create_challenge_token(user_id=7, entity_id=3, token_version=1), options={"verify_signature": False}
    )
    assert raw["exp"] - raw["iat"] == 300


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", None, 42, "x" * 5000])
def test_garbage_is_invalid(garbage):
    with pytest.raises(TokenInvalid):
        decode_access_token(garbage)


def test_a_verified_token_is_not_verified_again_but_still_expires(monkeypatch):
    token = _token(ttl=timedelta(minutes=5))
    first = decode_access_token(token)
    monkeypatch.setattr(tokens.jwt, "decode", lambda *a, **k: pytest.fail("verified a second time"))
    assert decode_access_token(token) == first
    real_time = tokens.time.time
    monkeypatch.setattr(tokens.time, "time", lambda: real_time() + 5 * 60 + tokens.LEEWAY_SECONDS + 1)
    with pytest.raises(TokenExpired):
        decode_access_token(token)


def test_a_remembered_token_counts_only_under_the_secret_that_signed_it(monkeypatch):
    token = _token()
    decode_access_token(token)
    monkeypatch.setattr(tokens, "_secret", lambda: "another-secret-of-sufficient-length-0123456789")
    with pytest.raises(TokenInvalid):
        decode_access_token(token)
