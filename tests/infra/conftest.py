import pytest

from tests.infra.harness import run_program


@pytest.fixture(scope="session")
def deployment():
    """The program with the base config (token service off: its package is tested on its own)."""
    return run_program()


@pytest.fixture(scope="session")
def full_deployment():
    """Token service on, cookie tokens on."""
    return run_program({"tokenService": True, "cookieName": "media_token", "cookieDomain": "example.com"})
