"""EvidenceRegistry anchoring: roles, growing tree size, the Anchored event and anchorOf."""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.contract import Contract

from tests.support.anvil import Accounts, h, mine, reverts_with

pytestmark = pytest.mark.ledger

UNAUTHORIZED = "AccessControlUnauthorizedAccount(address,bytes32)"
ADMIN_ROLE = b"\x00" * 32
ANCHOR_ROLE = Web3.keccak(text="ANCHOR_ROLE")


def test_roles_after_deployment(registry: Contract, accounts: Accounts) -> None:
    assert registry.functions.ANCHOR_ROLE().call() == ANCHOR_ROLE
    assert registry.functions.hasRole(ADMIN_ROLE, accounts.admin).call()
    assert registry.functions.hasRole(ANCHOR_ROLE, accounts.anchorer).call()
    assert not registry.functions.hasRole(ANCHOR_ROLE, accounts.admin).call()
    assert not registry.functions.hasRole(ADMIN_ROLE, accounts.anchorer).call()
    assert registry.functions.latestTreeSize().call() == 0


@pytest.mark.parametrize("who", ["outsider", "admin", "dept_a"])
def test_anchor_without_anchor_role_reverts(
    registry: Contract, accounts: Accounts, who: str
) -> None:
    sender = getattr(accounts, who)
    if who == "dept_a":
        mine(registry.w3, registry.functions.registerDepartment(sender, h("dept-a")),
             accounts.admin)
    with reverts_with(UNAUTHORIZED, sender, ANCHOR_ROLE):
        registry.functions.anchor(1, h("root-1")).transact({"from": sender})
    assert registry.functions.latestTreeSize().call() == 0


def test_revoked_anchorer_can_no_longer_anchor(registry: Contract, accounts: Accounts) -> None:
    mine(registry.w3, registry.functions.revokeRole(ANCHOR_ROLE, accounts.anchorer),
         accounts.admin)
    with reverts_with(UNAUTHORIZED, accounts.anchorer, ANCHOR_ROLE):
        registry.functions.anchor(1, h("root-1")).transact({"from": accounts.anchorer})


def test_only_admin_grants_anchor_role(registry: Contract, accounts: Accounts) -> None:
    with reverts_with(UNAUTHORIZED, accounts.anchorer, ADMIN_ROLE):
        registry.functions.grantRole(ANCHOR_ROLE, accounts.outsider).transact(
            {"from": accounts.anchorer}
        )


def test_tree_size_zero_is_not_increasing(registry: Contract, accounts: Accounts) -> None:
    with reverts_with("TreeSizeNotIncreasing(uint64,uint64)", 0, 0):
        registry.functions.anchor(0, h("root-0")).transact({"from": accounts.anchorer})


@pytest.mark.parametrize("given", [5, 4, 1])
def test_non_increasing_tree_size_reverts(
    registry: Contract, accounts: Accounts, given: int
) -> None:
    mine(registry.w3, registry.functions.anchor(5, h("root-5")), accounts.anchorer)
    with reverts_with("TreeSizeNotIncreasing(uint64,uint64)", 5, given):
        registry.functions.anchor(given, h("other")).transact({"from": accounts.anchorer})
    assert registry.functions.anchorOf(5).call()[0] == h("root-5")


def test_zero_root_reverts(registry: Contract, accounts: Accounts) -> None:
    with reverts_with("ZeroHash()"):
        registry.functions.anchor(1, b"\x00" * 32).transact({"from": accounts.anchorer})


def test_anchored_event_fields(registry: Contract, accounts: Accounts) -> None:
    receipt = mine(registry.w3, registry.functions.anchor(42, h("root-42")), accounts.anchorer)
    block = registry.w3.eth.get_block(receipt["blockNumber"])

    (event,) = registry.events.Anchored().process_receipt(receipt)

    assert event["address"] == registry.address
    assert event["args"]["treeSize"] == 42
    assert event["args"]["root"] == h("root-42")
    assert event["args"]["timestamp"] == block["timestamp"]
    # treeSize is indexed: a log filter on it finds exactly this anchor
    found = registry.events.Anchored().get_logs(
        from_block=receipt["blockNumber"], argument_filters={"treeSize": 42}
    )
    assert [e["transactionHash"] for e in found] == [receipt["transactionHash"]]


def test_anchor_of_returns_root_timestamp_and_block(
    registry: Contract, accounts: Accounts
) -> None:
    first = mine(registry.w3, registry.functions.anchor(3, h("root-3")), accounts.anchorer)
    second = mine(registry.w3, registry.functions.anchor(10, h("root-10")), accounts.anchorer)

    for size, root, receipt in ((3, "root-3", first), (10, "root-10", second)):
        block = registry.w3.eth.get_block(receipt["blockNumber"])
        assert registry.functions.anchorOf(size).call() == [
            h(root), block["timestamp"], receipt["blockNumber"]
        ]
    assert registry.functions.latestTreeSize().call() == 10


def test_anchor_of_unknown_size_is_zeros(registry: Contract, accounts: Accounts) -> None:
    mine(registry.w3, registry.functions.anchor(10, h("root-10")), accounts.anchorer)
    for size in (0, 5, 11):
        assert registry.functions.anchorOf(size).call() == [b"\x00" * 32, 0, 0]


def test_sizes_may_skip_but_never_go_back(registry: Contract, accounts: Accounts) -> None:
    for size in (1, 2, 1000, 2**64 - 1):
        mine(registry.w3, registry.functions.anchor(size, h(f"root-{size}")), accounts.anchorer)
    assert registry.functions.latestTreeSize().call() == 2**64 - 1
    with reverts_with("TreeSizeNotIncreasing(uint64,uint64)", 2**64 - 1, 2**64 - 1):
        registry.functions.anchor(2**64 - 1, h("again")).transact({"from": accounts.anchorer})
