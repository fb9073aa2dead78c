"""Tokens the edge would refuse are never minted: the edge takes a token of at most 8192 bytes
(edge max_token_bytes, counted on the token after "Bearer "), and a browser keeps about 4096
bytes of one cookie (name=value). Over either, POST /token answers 400 invalid_scope with the
sizes; a default scope that alone would pass the limit stops start-up. Plus hostile scopes."""
import re

import pytest

from token_service.app import create_app
from token_service.minting import EDGE_MAX_TOKEN_BYTES
from token_service.settings import Settings, SettingsError
from tests.token_service.conftest import claims_of
from tests.token_service.test_edge_contract import edge, outcome

COOKIE = "media_token"
REFUSED = re.compile(r"the viewing token would be (\d+) bytes, over (.+); ask for fewer or shorter paths")


def paths_of(total_chars):
    """Scope entries of about 500 characters adding up to `total_chars` (each at most 512)."""
    entries, i = [], 0
    while total_chars > 0:
        size = min(500, max(total_chars, 10))
        entries.append(f"/p{i:02d}/" + "a" * (size - 6) + "/")
        total_chars -= size
        i += 1
    return entries


@pytest.fixture(scope="module")
def open_service(session_services, base_settings):
    """No default scope: any path may be asked for, so only the size limit refuses."""
    return session_services(base_settings)


@pytest.fixture(scope="module")
def cookie_service(session_services, base_settings):
    return session_services({**base_settings, "cookie_name": COOKIE})


def scan_to_limit(service, idp):
    """Binary search on the scope size: (the largest token minted, the refusal one character later)."""
    app_token = idp.token()
    low, high = 100, 15_000  # accepted at `low`, refused at `high`
    while high - low > 1:
        middle = (low + high) // 2
        status = service.post_token(app_token, json={"paths": paths_of(middle)}).status_code
        assert status in (200, 400)
        low, high = (middle, high) if status == 200 else (low, middle)
    accepted = service.post_token(app_token, json={"paths": paths_of(low)})
    refused = service.post_token(app_token, json={"paths": paths_of(high)})
    assert accepted.status_code == 200 and refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    return accepted, REFUSED.fullmatch(refused.json()["error_description"])


def test_tokens_up_to_the_edge_limit_are_minted_and_pass_the_edge(open_service, idp):
    largest, smallest_refused = scan_to_limit(open_service, idp)
    token = largest.json()["access_token"]
    assert 8190 <= len(token) <= 8192
    assert 8192 < int(smallest_refused[1]) <= 8194
    assert smallest_refused[2] == "the edge's limit of 8192 bytes"
    jwks = open_service.get("/.well-known/jwks.json").json()
    assert outcome(edge(jwks), token, uri=claims_of(token)["paths"][0] + "x.mp4") == "forward"
    assert edge(jwks).config.max_token_bytes == EDGE_MAX_TOKEN_BYTES == 8192  # the service's copy of the limit


def test_32_long_paths_are_refused_with_the_sizes(open_service, idp):
    response = open_service.post_token(idp.token(), json={"paths": paths_of(32 * 500)})
    assert response.status_code == 400
    match = REFUSED.fullmatch(response.json()["error_description"])
    assert int(match[1]) > 21_000 and match[2] == "the edge's limit of 8192 bytes"


def test_in_cookie_mode_the_cookie_limit_binds(cookie_service, idp):
    largest, smallest_refused = scan_to_limit(cookie_service, idp)
    cookie = largest.headers["set-cookie"].split(";")[0]
    assert cookie.startswith(f"{COOKIE}=") and 4094 <= len(cookie) <= 4096
    assert smallest_refused[2] == f"the cookie limit of 4096 bytes for {COOKIE}=<token>"
    assert int(smallest_refused[1]) + len(COOKIE) + 1 > 4096


@pytest.mark.parametrize("paths, fault", [
    (["/videos/u42/" + "*a" * 200], "more than one '*' in a segment"),
    (["/videos/u42/*.*"], "more than one '*' in a segment"),
    (["/videos/**/"], "more than one '*' in a segment"),
    (["/videos/u42/a\x00b"], "control character"),
    (["/videos/u42/\x1b[31m"], "control character"),
    (["/videos/u42/\x7f"], "control character"),
    (["/videos/u42/a\\..\\u43"], "control character or a backslash"),
    (["/videos/u43/ünï😀.mp4"], "outside the allowed scope"),
    ([f"/videos/u42/{n}*" for n in range(9)], "at most 8 paths with a '*'"),
    (["/videos/u42/*" + "/a" * 62], "at most 64 segments in all"),
])
def test_hostile_scopes_are_invalid_scope(service, idp, paths, fault):
    response = service.post_token(idp.token(sub="u42"), json={"paths": paths})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_scope"
    assert fault in response.json()["error_description"]


def test_unicode_scopes_inside_the_default_are_kept_exactly(service, idp):
    paths = ["/videos/u42/ünï😀.mp4", "/videos/u42/\u202e/"]
    response = service.post_token(idp.token(sub="u42"), json={"paths": paths})
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["access_token"])["paths"] == paths


@pytest.mark.parametrize("paths, status", [
    (["/videos/u42/" + "a" * 2036] * 64, 413),  # 64 entries of 2 KB: over the body limit
    (["/videos/u42/" + "a" * 2036], 400),        # one of 2 KB: over the entry limit
    ([f"/videos/u42/{i}" for i in range(33)], 400),
])
def test_too_many_or_too_long_entries_are_refused(service, idp, paths, status):
    response = service.post_token(idp.token(sub="u42"), json={"paths": paths})
    assert response.status_code == status, response.text
    assert response.json()["error_description"]


@pytest.fixture
def env(base_settings):
    return {f"TOKEN_SERVICE_{name.upper()}": str(value) for name, value in base_settings.items()}


def long_default(count):
    return ",".join(f"/videos/{{sub}}/{i:02d}/" for i in range(count))


def test_a_default_scope_too_large_for_the_edge_stops_start_up(env):
    env["TOKEN_SERVICE_DEFAULT_PATHS"] = long_default(30)  # 30 x 256-character subs: over 8192
    with pytest.raises(SettingsError) as raised:
        create_app(Settings.from_env(env))
    [fault] = raised.value.faults
    assert re.fullmatch(r"TOKEN_SERVICE_DEFAULT_PATHS: for a 256-character sub the viewing token would be "
                        r"\d+ bytes, over the edge's limit of 8192 bytes", fault)


def test_a_default_scope_too_large_for_the_cookie_stops_start_up_in_cookie_mode(env):
    env["TOKEN_SERVICE_DEFAULT_PATHS"] = long_default(12)
    create_app(Settings.from_env(env))  # fits the edge's limit
    env["TOKEN_SERVICE_COOKIE_NAME"] = COOKIE
    with pytest.raises(SettingsError, match=f"over the cookie limit of 4096 bytes for {COOKIE}=<token>"):
        create_app(Settings.from_env(env))


@pytest.fixture(scope="module")
def odd_key_service(session_services, base_settings, tmp_path_factory):
    """A 2050-bit key: its signatures are 257 octets, one more than key_size // 8."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from token_service import keys
    path = tmp_path_factory.mktemp("odd-key") / "2050.pem"
    path.write_bytes(keys.private_key_pem(rsa.generate_private_key(public_exponent=65537, key_size=2050)))
    return session_services({**base_settings, "signing_key_file": path})


def test_a_key_whose_modulus_is_not_whole_octets_never_mints_past_the_edge_limit(odd_key_service, idp):
    largest, smallest_refused = scan_to_limit(odd_key_service, idp)
    token = largest.json()["access_token"]
    assert 8190 <= len(token) <= 8192
    assert 8192 < int(smallest_refused[1]) <= 8194
    jwks = odd_key_service.get("/.well-known/jwks.json").json()
    assert outcome(edge(jwks), token, uri=claims_of(token)["paths"][0] + "x.mp4") == "forward"
