"""Refused prefixes: uploads waiting for the media processor (/incoming/) and its status records
(/assets/) are never served, whatever the token says, however the path is spelled."""
import json

import pytest

from edge.config import ConfigError, load_config
from tests.cf import bearer, viewer_request
from tests.edge.conftest import AUDIENCE, ISSUER, status

REFUSED = [
    "/incoming/u42/dVPwNBie7VQVJnYbiCE1oA", "/assets/u42/dVPwNBie7VQVJnYbiCE1oA.json", "/incoming/", "/assets/x",
    "/%69ncoming/u42/a", "/incoming%2Fu42%2Fa", "/%61ssets/u42/a.json", "/assets%2fu42/a.json",
    "/%69%6e%63%6f%6d%69%6e%67/u42/a",
]


@pytest.mark.parametrize("uri", REFUSED)
@pytest.mark.parametrize("scope", [None, ["/"], ["/incoming/", "/assets/"], ["/incoming/u42/", "/assets/u42/"]])
def test_refused_whatever_the_token_opens(authorizer, tokens, uri, scope):
    token = tokens.make(paths=scope) if scope else tokens.make()
    result = authorizer.handle(viewer_request(uri=uri, headers=bearer(token)))
    assert result["status"] == "403", result
    assert json.loads(result["body"]) == {"error": "insufficient_scope", "error_description": "this path is never served"}
    assert authorizer.logs.decisions[-1]["reason"] == "refused_prefix"


@pytest.mark.parametrize("uri", ["/incoming/u42/a", "/assets/u42/a.json"])
def test_refused_without_a_token_too(authorizer, uri):
    result = authorizer.handle(viewer_request(uri=uri, headers={}))
    assert result["status"] == "403"


@pytest.mark.parametrize("uri", ["/videos/u42/a.mp4", "/incoming", "/incomings/a", "/Incoming/a", "/assetsx/a",
                                 "/videos/incoming/a.mp4", "/videos/assets/a.jpg"])
def test_other_paths_are_left_to_the_scope(authorizer, tokens, uri):
    result = authorizer.handle(viewer_request(uri=uri, headers=bearer(tokens.make())))
    assert status(result) == "forward", result


def test_the_prefixes_are_configurable_and_empty_turns_them_off(make_authorizer, tokens):
    custom = make_authorizer(refused_prefixes=["/uploads/pending/"])
    assert status(custom.handle(viewer_request(uri="/uploads/pending/a", headers=bearer(tokens.make())))) == "403"
    assert status(custom.handle(viewer_request(uri="/incoming/u42/a", headers=bearer(tokens.make())))) == "forward"
    none = make_authorizer(refused_prefixes=[])
    assert status(none.handle(viewer_request(uri="/incoming/u42/a", headers=bearer(tokens.make())))) == "forward"


def test_default_and_round_trip(jwks):
    config = load_config({"issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks})
    assert config.refused_prefixes == ("/incoming/", "/assets/")
    assert config.to_json()["refused_prefixes"] == ["/incoming/", "/assets/"]
    assert load_config(json.loads(json.dumps(config.to_json()))) == config


@pytest.mark.parametrize("value", ["/incoming/", ["/incoming"], ["incoming/"], ["/"], ["/a//b/"], ["/a/./"],
                                   ["/a/../"], ["/inc*/"], ["/a\\b/"], ["/a\x00/"], [1], [None], {"a": 1},
                                   ["/x/"] * 17, ["/" + "a" * 300 + "/"]])
def test_bad_values_are_config_errors(jwks, value):
    with pytest.raises(ConfigError) as raised:
        load_config({"issuer": ISSUER, "audience": AUDIENCE, "jwks": jwks, "refused_prefixes": value})
    (line,) = raised.value.errors
    assert line.startswith("refused_prefixes: must be at most 16 folders like /incoming/")
