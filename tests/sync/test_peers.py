"""The peer table: who is on the topic, what they announced, their endpoints."""

from __future__ import annotations

from orbitstore.sync.peers import PeerTable


def test_presence_and_announcements() -> None:
    table = PeerTable(max_heads=2)
    assert table.update_present({"a", "b"}) == {"a", "b"}
    assert table.update_present({"a", "b"}) == set()
    start = table.mark()
    assert not table.heard_since("a", 0)
    table.hear("a")
    assert table.heard_since("a", 0) and table.heard_since("a", start) and not table.heard_since("b", 0)
    assert not table.heard_since("a", table.mark())
    table.announce("a", "h1", None)
    table.announce("a", "h2", None)
    table.announce("a", "h3", None)  # at most two kept: the oldest goes
    assert list(table.announced("a")) == ["h2", "h3"]
    assert table.update_present({"b"}) == set()  # a left: forgotten
    assert table.announced("a") == {} and not table.heard_since("a", 0)


def test_a_failed_endpoint_waits_for_its_retry_time() -> None:
    table = PeerTable(max_heads=4)
    table.set_endpoint("a", "127.0.0.1:4001", now=0.0)
    assert table.endpoint("a") == "127.0.0.1:4001"
    table.endpoint_failed("a", retry_at=60.0)
    assert table.endpoint("a") is None
    table.set_endpoint("a", "127.0.0.1:4001", now=30.0)  # the same endpoint, too soon
    assert table.endpoint("a") is None
    table.set_endpoint("a", "127.0.0.1:4002", now=30.0)  # another one is tried at once
    assert table.endpoint("a") == "127.0.0.1:4002"
    table.endpoint_failed("a", retry_at=90.0)
    table.set_endpoint("a", "127.0.0.1:4001", now=61.0)  # only the last failed endpoint is held back
    assert table.endpoint("a") == "127.0.0.1:4001"
