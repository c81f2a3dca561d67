"""The kernel's end of the OAuth relay, without a browser: the page report, the choice of redirect, routing by state."""

from __future__ import annotations

import asyncio

import pytest

from mcpomni_jupyter.auth.oauth import AuthOptions, OAuthCoordinator
from mcpomni_jupyter.auth.relay_route import Page, RelayRoutes, parse_page
from mcpomni_jupyter.errors import AuthError, AuthorizationDenied, ConfigError

PAGE = "/mcpomni/oauth/callback"  # the relay page of a server at "/" (the message's ``page``)


@pytest.mark.parametrize(
    ("origin", "base", "expected"),
    [
        ("https://hub.example.org", "/user/ada/", Page("https://hub.example.org", "/user/ada/")),
        ("http://lab.test:8888", "/", Page("http://lab.test:8888", "/")),
        ("https://hub.example.org", "/user/ada", Page("https://hub.example.org", "/user/ada/")),
        ("http://[::1]:8888", "/", Page("http://[::1]:8888", "/")),
    ],
)
def test_a_plain_origin_and_path_are_taken(origin, base, expected):
    assert parse_page(origin, base) == expected


@pytest.mark.parametrize(
    ("origin", "base"),
    [
        ("javascript:alert(1)", "/"),
        ("https://hub.example.org/path", "/"),
        ("https://user:pw@hub.example.org", "/"),
        ("https://hub.example.org?x=1", "/"),
        ("https://hub.example.org", "user/ada/"),
        ("https://hub.example.org", "/user/../admin/"),
        ("https://hub.example.org", "/a b/"),
        ("https://hub.example.org", "//evil.example/"),
        ("https://hub.example.org:99999", "/"),
        ("null", "/"),
        (None, "/"),
        ("https://hub.example.org", None),
        ("https://" + "a" * 600, "/"),
    ],
)
def test_anything_else_is_refused(origin, base):
    assert parse_page(origin, base) is None


@pytest.mark.parametrize(
    ("origin", "loopback"),
    [
        ("http://127.0.0.1:8888", True),
        ("http://localhost:8888", True),
        ("http://[::1]:8888", True),
        ("http://app.localhost:8888", False),  # urls.is_loopback_host: a *.localhost name may go to DNS
        ("https://hub.example.org", False),
        ("http://10.0.0.5:8888", False),
    ],
)
def test_loopback_origins(origin, loopback):
    page = parse_page(origin, "/")
    assert page is not None and page.loopback is loopback


def test_auto_picks_the_relay_only_for_a_known_remote_page():
    oauth = OAuthCoordinator(AuthOptions(callback="auto"))
    assert oauth.via() == "loopback"  # nothing reported yet: the guide's behaviour
    oauth.set_page("http://127.0.0.1:8888", "/")
    assert oauth.via() == "loopback"
    oauth.set_page("https://hub.example.org", "/user/ada/")
    assert oauth.via() == "relay"
    oauth.set_page("javascript:x", "/")  # a bad report changes nothing
    assert oauth.relay.page == Page("https://hub.example.org", "/user/ada/")
    oauth.configure(callback="loopback")
    assert oauth.via() == "loopback"
    with pytest.raises(ConfigError, match="'auto', 'loopback' or 'relay'"):
        oauth.configure(callback="carrier-pigeon")


def test_relay_without_a_page_says_what_to_do():
    with pytest.raises(AuthError, match="click Authorize .*%mcp auth ox.*callback = 'loopback'"):
        RelayRoutes().route("ox")


def test_the_redirect_uri_is_under_the_base_url():
    routes = RelayRoutes()
    routes.set_page("https://hub.example.org", "/user/ada/")
    assert routes.route("ox").redirect_uri == "https://hub.example.org/user/ada/mcpomni/oauth/callback"
    assert routes.route("oy") is routes.route("ox")  # one route per redirect URI, flows told apart by state


def test_first_valid_state_wins_and_a_replay_or_forgery_completes_nothing():
    async def scenario():
        routes = RelayRoutes()
        routes.set_page("https://hub.example.org", "/")
        route = routes.route("ox")
        flow = await route.expect("state-1", "ox", "https://as.example/authorize")
        forged = routes.deliver({"page": PAGE, "id": "m0", "code": "c", "state": "forged"})
        assert forged["status"] == "unknown" and not flow.future.done()
        taken = routes.deliver({"page": PAGE, "id": "m1", "code": "the-code", "state": "state-1", "extra": "ignored"})
        assert taken["status"] == "taken" and "ox is authorized" in taken["message"]
        assert "the-code" not in str(taken)
        result = flow.future.result()
        assert result.code == "the-code" and result.state == "state-1"
        assert routes.deliver({"page": PAGE, "id": "m1", "code": "the-code", "state": "state-1"})["status"] == "taken"  # posted again
        replay = routes.deliver({"page": PAGE, "id": "m2", "code": "the-code", "state": "state-1"})  # the same redirect, opened again
        assert replay["status"] == "unknown" and "already used" in replay["message"]

    asyncio.run(scenario())


def test_an_error_redirect_ends_its_flow_and_is_refused():
    async def scenario():
        routes = RelayRoutes()
        routes.set_page("https://hub.example.org", "/")
        flow = await routes.route("ox").expect("s", "ox", "https://as.example/authorize")
        ack = routes.deliver({"page": PAGE, "id": "m", "state": "s", "error": "access_denied", "error_description": "no"})
        assert ack["status"] == "refused"
        with pytest.raises(AuthorizationDenied, match="access_denied"):
            flow.future.result()

    asyncio.run(scenario())


def test_oversized_or_odd_fields_are_dropped():
    async def scenario():
        routes = RelayRoutes()
        routes.set_page("https://hub.example.org", "/")
        flow = await routes.route("ox").expect("s", "ox", "https://as.example/authorize")
        ack = routes.deliver({"page": PAGE, "id": 5, "code": "x" * 5000, "state": "s"})
        assert ack["status"] == "refused" and ack["id"] == ""  # no code survived: incomplete, and the flow waits on
        assert not flow.future.done()
        ack = routes.deliver({"page": PAGE, "id": "m", "code": ["a"], "state": "s"})
        assert ack["status"] == "refused" and not flow.future.done()

    asyncio.run(scenario())


def test_the_iss_of_the_redirect_is_checked_as_on_loopback():
    async def scenario():
        routes = RelayRoutes()
        routes.set_page("https://hub.example.org", "/")
        flow = await routes.route("ox").expect("s", "ox", "https://as.example/a", issuer="https://as.example", iss_required=True)
        ack = routes.deliver({"page": PAGE, "id": "m", "code": "c", "state": "s", "iss": "https://evil.example"})
        assert ack["status"] == "refused"
        with pytest.raises(AuthError, match="mix-up"):
            flow.future.result()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("page", "why"),
    [
        ("/user/bob/mcpomni/oauth/callback", "from the relay page '/user/bob/mcpomni/oauth/callback', not this notebook's"),
        ("/user/alice/", "not this notebook's (/user/alice/mcpomni/oauth/callback)"),
        (None, "does not say which relay page posted it"),
        (["/user/alice/mcpomni/oauth/callback"], "does not say which relay page posted it"),
        ("/" + "a" * 2000, "does not say which relay page posted it"),
    ],
)
def test_a_message_from_another_relay_page_is_refused_and_logged(page, why, caplog):
    """On a JupyterHub every user's server has the same origin, so the same BroadcastChannel: alice's kernel takes a
    code only from alice's relay page, even with alice's own pending state."""

    async def scenario():
        routes = RelayRoutes()
        routes.set_page("https://hub.example.org", "/user/alice/")
        flow = await routes.route("ox").expect("state-a", "ox", "https://as.example/authorize")
        notes: list[str] = []
        flow.note = notes.append
        message = {"id": "m1", "code": "the-code", "state": "state-a"} | ({} if page is None else {"page": page})
        ack = routes.deliver(message)
        assert ack["status"] == "refused" and why in ack["message"] and "the-code" not in str(ack)
        assert not flow.future.done()  # still waiting: the real redirect completes it
        assert len(notes) == 1 and why in notes[0] and "\n" not in notes[0]
        assert [r.getMessage() for r in caplog.records if r.name == "mcpomni_jupyter.auth"] == [f"server 'ox': {notes[0]}"]
        ack = routes.deliver({"id": "m2", "code": "the-code", "state": "state-a", "page": "/user/alice/mcpomni/oauth/callback"})
        assert ack["status"] == "taken" and flow.future.result().code == "the-code"

    asyncio.run(scenario())


def test_the_page_path_is_compared_decoded():
    async def scenario():
        routes = RelayRoutes()
        routes.set_page("https://hub.example.org", "/user/ad%C3%A9/")
        flow = await routes.route("ox").expect("s", "ox", "https://as.example/authorize")
        assert routes.deliver({"id": "m", "code": "c", "state": "s", "page": "/user/adé/mcpomni/oauth/callback"})["status"] == "taken"
        assert flow.future.result().code == "c"

    asyncio.run(scenario())


class _Host:
    """An ``AuthHost`` that records the states the relay's page wait moves it through."""

    def __init__(self, method: str = "oauth") -> None:
        from types import SimpleNamespace

        from mcpomni_jupyter.auth.state import AuthState

        self.auth = AuthState()
        self.name = "ox"
        self.config = SimpleNamespace(auth=SimpleNamespace(method=method))
        self.is_connected = False
        self.states: list[str] = []

    def record(self, kind, message, level="info", data=None):
        return None

    def auth_waiting(self):
        self.states.append("auth required" + (" (page)" if self.auth.waiting_page else ""))

    def auth_resumed(self, in_session):
        self.states.append("connecting")


def test_relay_waits_for_the_page_a_front_end_will_report_and_goes_on_when_it_does():
    async def scenario():
        oauth = OAuthCoordinator(AuthOptions(callback="relay"))
        oauth.relay.expected = True  # a notebook's bridge was made
        host = _Host()
        waiting = asyncio.ensure_future(oauth.wait_for_page(host))
        while not host.states:
            await asyncio.sleep(0)
        assert host.states == ["auth required (page)"] and not waiting.done()
        # reported on the kernel's thread, not the loop's
        await asyncio.to_thread(oauth.set_page, "https://hub.example.org", "/user/ada/")
        await asyncio.wait_for(waiting, 5)
        assert host.states == ["auth required (page)", "connecting"] and not host.auth.waiting_page
        assert oauth.relay.route("ox").redirect_uri == "https://hub.example.org/user/ada/mcpomni/oauth/callback"
        await oauth.wait_for_page(host)  # known now: nothing to wait for
        assert len(host.states) == 2

    asyncio.run(scenario())


def test_relay_without_a_front_end_fails_at_once_and_other_methods_never_wait():
    async def scenario():
        oauth = OAuthCoordinator(AuthOptions(callback="relay"))
        with pytest.raises(AuthError, match="the OAuth relay needs the address of the notebook page"):
            await oauth.wait_for_page(_Host())
        await oauth.wait_for_page(_Host("client_credentials"))  # no person, no redirect: no page needed
        auto = OAuthCoordinator(AuthOptions(callback="auto"))
        auto.relay.expected = True
        await auto.wait_for_page(_Host())  # "auto" never waits: it takes the loopback callback until a page says otherwise

    asyncio.run(scenario())


def test_relay_page_wait_gives_up_after_the_auth_timeout_with_what_to_do():
    async def scenario():
        oauth = OAuthCoordinator(AuthOptions(callback="relay", auth_timeout=0.05))
        oauth.relay.expected = True
        host = _Host()
        with pytest.raises(AuthError, match="click Authorize"):
            await oauth.wait_for_page(host)
        assert not host.auth.waiting_page

    asyncio.run(scenario())
