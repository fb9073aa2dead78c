"""Signing keys from SSM SecureString parameters, served by a real moto server over loopback."""
import time

import boto3
import pytest
from jwt import get_unverified_header

from token_service.app import create_app
from token_service.settings import Settings, SettingsError
from tests.servers import free_port
from tests.token_service.conftest import claims_of

pytestmark = pytest.mark.usefixtures("aws_credentials")


@pytest.fixture(scope="module")
def ssm_keys(moto_url, signing_pems):
    """The two signing keys as SecureString parameters (and one plain String, a mistake)."""
    ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_url,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    for name in ("old", "new"):
        ssm.put_parameter(Name=f"/media/signing/{name}", Type="SecureString", Overwrite=True,
                          Value=signing_pems[name][0].read_text())
    ssm.put_parameter(Name="/media/signing/plain", Type="String", Overwrite=True,
                      Value=signing_pems["old"][0].read_text())
    return {"/media/signing/old": signing_pems["old"][1], "/media/signing/new": signing_pems["new"][1]}


@pytest.fixture
def ssm_settings(base_settings, moto_url):
    settings = {**base_settings, "signing_key_ssm_parameter": "/media/signing/old,/media/signing/new",
                "ssm_endpoint_url": moto_url, "ssm_region": "us-east-1"}
    del settings["signing_key_file"]
    return settings


def test_keys_from_ssm_all_published_first_active(start_service, ssm_settings, ssm_keys, idp):
    service = start_service(ssm_settings)
    published = [jwk["kid"] for jwk in service.get("/.well-known/jwks.json").json()["keys"]]
    assert published == list(ssm_keys.values())
    token = service.post_token(idp.token()).json()["access_token"]
    assert get_unverified_header(token)["kid"] == ssm_keys["/media/signing/old"]
    assert claims_of(token)["sub"] == "u42"
    log = service.log_text() + service.stderr()
    assert "PRIVATE KEY" not in log


def test_active_kid_picks_the_signing_key(start_service, ssm_settings, ssm_keys, idp):
    new_kid = ssm_keys["/media/signing/new"]
    service = start_service({**ssm_settings, "active_kid": new_kid})
    assert get_unverified_header(service.post_token(idp.token()).json()["access_token"])["kid"] == new_kid
    assert service.get("/readyz").json()["active_kid"] == new_kid


@pytest.mark.parametrize("parameters, message", [
    ("/media/signing/missing", "TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER /media/signing/missing: ParameterNotFound"),
    ("/media/signing/plain", "TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER /media/signing/plain: must be a SecureString"),
])
def test_unusable_parameters_stop_start_up(ssm_settings, ssm_keys, parameters, message):
    env = {f"TOKEN_SERVICE_{k.upper()}": str(v) for k, v in ssm_settings.items()}
    env["TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER"] = parameters
    with pytest.raises(SettingsError, match=message):
        create_app(Settings.from_env(env))


def test_unreachable_ssm_stops_start_up_quickly(ssm_settings):
    env = {f"TOKEN_SERVICE_{k.upper()}": str(v) for k, v in ssm_settings.items()}
    env["TOKEN_SERVICE_SSM_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(SettingsError, match="TOKEN_SERVICE_SIGNING_KEY_SSM_PARAMETER /media/signing/old: could not reach http://127.0.0.1:"):
        create_app(Settings.from_env(env))
    assert time.monotonic() - started < 15
