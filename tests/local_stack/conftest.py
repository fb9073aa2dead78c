"""One real local stack for the session, started as `make dev` starts it (on free ports)."""
import pathlib

import httpx
import pytest

from local_stack.launcher import RunningStack

REPO = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "local_stack"


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory):
    stack = RunningStack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def stack(running_stack):
    """The stack's .local/stack.json."""
    return running_stack.info


@pytest.fixture(scope="session")
def http():
    with httpx.Client(timeout=10) as client:
        yield client


def user(stack, name):
    return next(u for u in stack["users"] if u["username"] == name)


def seeded(stack, owner):
    return next(o for o in stack["objects"] if o["owner"] == owner)


def app_token(http, stack, name):
    u = user(stack, name)
    response = http.post(f"{stack['idp_url']}/login", json={"username": u["username"], "password": u["password"]})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def viewing_token(http, stack, name, paths=None):
    response = http.post(f"{stack['token_url']}/token", json={"paths": paths} if paths else None,
                         headers={"Authorization": f"Bearer {app_token(http, stack, name)}"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def alice_token(http, stack):
    return viewing_token(http, stack, "alice")
