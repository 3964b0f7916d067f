"""DNS rebinding and forged headers: Edge and Core answer only to loopback Host names (or
those listed), a forged X-Forwarded-For changes neither what a request may do nor who is
recorded, and Core without an API key serves nobody beyond loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.supervisor import ServerSpec, Supervisor
from core.api import create_app as create_core
from core.settings import CoreSettings
from tests.agent.conftest import OWNER_TOKEN, EdgeFactory
from tests.agent.polling import timeline
from tests.e2e.test_cli_up import STEWARD, _wait_for_line
from tests.security.conftest import World, anonymous, security_lines
from tests.servers import free_port, serve

FOREIGN = ["evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.1.nip.io"]
LOOPBACK = ["127.0.0.1", "localhost", "LOCALHOST:1", "[::1]", "[::1]:8000", "127.0.0.2:80"]


def with_host(client: httpx.Client, method: str, path: str, host: str) -> httpx.Response:
    return client.request(method, path, headers={"Host": host})


@pytest.mark.parametrize("host", FOREIGN)
def test_edge_refuses_a_foreign_host_even_with_the_owners_token(world: World, host: str) -> None:
    for method, path in (("GET", "/health"), ("GET", "/v1/me"), ("GET", "/")):
        r = with_host(world.owner, method, path, host)
        assert r.status_code == 421, (host, path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "host_not_allowed"
    entries = security_lines(world.data_dir)
    assert [(e["path"], e["status"], e["reason"]) for e in entries] == [
        ("/health", 421, "host_not_allowed"),
        ("/v1/me", 421, "host_not_allowed"),
        ("/", 421, "host_not_allowed"),
    ]


@pytest.mark.parametrize("host", LOOPBACK)
def test_edge_answers_loopback_hosts(world: World, host: str) -> None:
    assert with_host(world.owner, "GET", "/health", host).status_code == 200
    assert with_host(world.owner, "GET", "/v1/me", host).json()["role"] == "owner"


def test_edge_answers_the_hosts_it_is_told_to(make_edge: EdgeFactory) -> None:
    with make_edge(allowed_hosts="steward.lan, [fd00::7]") as owner:
        for host in ("steward.lan", "Steward.LAN:8000", "[fd00::7]:8000"):
            assert with_host(owner, "GET", "/v1/me", host).status_code == 200, host
        assert with_host(owner, "GET", "/v1/me", "other.lan").status_code == 421


def test_a_star_lets_every_host_through(make_edge: EdgeFactory) -> None:
    with make_edge(allowed_hosts="*") as owner:
        assert with_host(owner, "GET", "/v1/me", "evil.example").status_code == 200


@pytest.fixture(scope="module")
def core_urls() -> Iterator[dict[str, str]]:
    """Real Cores on the mock backend: default hosts, a listed host, and a key."""
    with (
        serve(create_core(CoreSettings(backend="mock"))) as plain,
        serve(create_core(CoreSettings(backend="mock", allowed_hosts="core.lan"))) as listed,
    ):
        yield {"plain": plain, "listed": listed}


@pytest.mark.parametrize("host", FOREIGN)
def test_core_refuses_a_foreign_host_in_the_openai_shape(
    core_urls: dict[str, str], host: str
) -> None:
    for path in ("/health", "/v1/models"):
        r = httpx.get(core_urls["plain"] + path, headers={"Host": host})
        assert r.status_code == 421, r.text
        assert r.json()["error"]["code"] == "host_not_allowed"
        assert r.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("host", LOOPBACK)
def test_core_answers_loopback_hosts(core_urls: dict[str, str], host: str) -> None:
    assert httpx.get(core_urls["plain"] + "/health", headers={"Host": host}).status_code == 200


def test_core_answers_the_hosts_it_is_told_to(core_urls: dict[str, str]) -> None:
    ok = httpx.get(core_urls["listed"] + "/v1/models", headers={"Host": "core.lan:9000"})
    assert ok.status_code == 200
    other = httpx.get(core_urls["listed"] + "/v1/models", headers={"Host": "other.lan"})
    assert other.status_code == 421


def _lan_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent; this only picks a route
        except OSError:
            return None
        address: str = s.getsockname()[0]
    return None if address.startswith("127.") else address


async def test_core_without_a_key_refuses_requests_off_loopback() -> None:
    """`uvicorn core.api:app --host 0.0.0.0` by hand, without CORE_API_KEY: the network gets
    403 on every route, whatever Host it names."""
    app = create_core(CoreSettings(backend="mock", allowed_hosts="*"))
    transport = httpx.ASGITransport(app=app)  # the server side is the URL's address
    async with httpx.AsyncClient(transport=transport, base_url="http://192.0.2.10:9000") as c:
        for path in ("/health", "/v1/models"):
            r = await c.get(path)
            assert r.status_code == 403
            assert r.json()["error"]["code"] == "api_key_required"
    keyed = create_core(CoreSettings(backend="mock", allowed_hosts="*", api_key="k" * 32))
    transport = httpx.ASGITransport(app=keyed)
    async with httpx.AsyncClient(transport=transport, base_url="http://192.0.2.10:9000") as c:
        assert (await c.get("/v1/models")).status_code == 401
        ok = await c.get("/v1/models", headers={"Authorization": "Bearer " + "k" * 32})
        assert ok.status_code == 200


def test_core_bound_to_every_address_without_a_key_serves_only_loopback() -> None:
    address = _lan_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    port = free_port()
    spec = ServerSpec("Core", "core.api:app", "0.0.0.0", port, {"CORE_BACKEND": "mock"})
    supervisor = Supervisor(lambda _: None)
    try:
        supervisor.start(spec)
        loopback = ServerSpec("Core", "core.api:app", "127.0.0.1", port)
        supervisor.children[0] = (loopback, supervisor.children[0][1])
        supervisor.wait_healthy(loopback, 60)
        r = httpx.get(f"http://{address}:{port}/v1/models", headers={"Host": "127.0.0.1"})
    finally:
        supervisor.stop()
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "api_key_required"


FORGED = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9", "Forwarded": "for=x"}


def test_a_forged_forwarded_for_grants_nothing_and_is_not_recorded(world: World) -> None:
    with anonymous(world.owner, **FORGED) as stranger:
        assert stranger.get("/v1/agent/tasks").status_code == 401
    r = world.member.post("/v1/tools:rescan", headers=FORGED)
    assert r.status_code == 403
    sent = world.member.post("/v1/agent/messages", json={"text": "hi"}, headers=FORGED).json()
    actors = [e["actor"] for e in timeline(world.owner, sent["conversation_id"])]
    people = [a for a in actors if a["role"] != "system"]
    assert people
    assert all(a == {"id": world.member_id, "role": "member"} for a in people), actors
    entries = security_lines(world.data_dir)
    assert [e["client"] for e in entries] == ["127.0.0.1", "127.0.0.1"]
    assert "203.0.113.9" not in (world.data_dir / "security.log").read_text()


def test_steward_up_servers_ignore_forwarded_for(core_url: str, tmp_path: Path) -> None:
    """Servers as `steward up` launches them (uvicorn in a child process): uvicorn trusts
    X-Forwarded-For from 127.0.0.1 unless told not to."""
    env = {
        "STEWARD_DATA_DIR": str(tmp_path),
        "STEWARD_OWNER_TOKEN": OWNER_TOKEN,
        "CORE_BASE_URL": core_url,
        "STEWARD_WORKERS": "0",
        "STEWARD_CONSOLE_DIR": str(tmp_path / "no-console"),
    }
    spec = ServerSpec("Edge", "backend.agent.api:app", "127.0.0.1", free_port(), env)
    supervisor = Supervisor(print)
    try:
        supervisor.start(spec)
        supervisor.wait_healthy(spec, 60)
        r = httpx.get(spec.url + "/v1/agent/tasks", headers=FORGED)
    finally:
        supervisor.stop()
    assert r.status_code == 401
    [entry] = security_lines(tmp_path)
    assert entry["client"] == "127.0.0.1"


def test_steward_up_on_a_lan_address_answers_to_it_and_to_nothing_else(tmp_path: Path) -> None:
    """Beyond loopback (with CORE_API_KEY set), the servers answer to the address they were
    started on; other Host names still get 421."""
    address = _lan_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    core_port, edge_port = free_port(), free_port()
    args = ["--backend", "mock", "--host", address, "--data-dir", str(tmp_path)]
    ports = ["--core-port", str(core_port), "--edge-port", str(edge_port)]
    env = {**os.environ, "CORE_API_KEY": "k" * 32, "STEWARD_OWNER_TOKEN": OWNER_TOKEN}
    proc = subprocess.Popen(
        [STEWARD, "up", *args, *ports],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for_line(proc, "Press Ctrl-C to stop.", timeout=120)
        edge = f"http://{address}:{edge_port}"
        owner = {"Authorization": f"Bearer {OWNER_TOKEN}"}
        assert httpx.get(edge + "/v1/me", headers=owner).json()["role"] == "owner"
        foreign = httpx.get(edge + "/v1/me", headers={**owner, "Host": "evil.example"})
        core = httpx.get(f"http://{address}:{core_port}/health", headers={"Host": "evil.example"})
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
    assert foreign.status_code == 421
    assert core.status_code == 421
