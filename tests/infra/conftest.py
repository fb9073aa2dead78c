import pytest

from tests.infra.harness import ACCOUNT, run_program

ALIAS_CERTIFICATE_ARN = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/abcd-1234"
# Cookie mode needs the distribution's own host name (infra/config.py says why). Host-only, the
# default: the cookie is then named __Host-media_token.
COOKIE_MODE = {"cookieName": "media_token", "domainName": "media.example.com", "certificateArn": ALIAS_CERTIFICATE_ARN}


@pytest.fixture(scope="session")
def deployment():
    """The program with the base config (token service off: its package is tested on its own)."""
    return run_program()


@pytest.fixture(scope="session")
def header_deployment():
    """Token service on (uploads on by default), tokens in the Authorization header only."""
    return run_program({"tokenService": True})


@pytest.fixture(scope="session")
def full_deployment():
    """Token service on, cookie tokens on, served under the alias media.example.com."""
    return run_program({"tokenService": True, **COOKIE_MODE})
