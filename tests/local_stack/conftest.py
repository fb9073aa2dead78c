"""One real local stack for the session, started as `make dev` starts it (on free ports)."""
import json
import pathlib
import socket
import urllib.parse

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


@pytest.fixture(scope="session")
def internal(running_stack):
    """What the stack does not advertise (.local/internal.json): moto's socket, the parts' access keys."""
    return json.loads((running_stack.state_dir / "internal.json").read_text())


def host_port(url):
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port


def raw_exchange(url, data: bytes, timeout=10):
    """Send `data` as it is to the server at `url`; everything it answers until it closes the
    connection (or `timeout` passes with nothing more), and whether it closed."""
    with socket.create_connection(host_port(url), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            return received, False
        return received, True
