"""EvidenceRegistry departments and inter-department transfer steps (ARCHITECTURE §4)."""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from tests.support.anvil import Accounts, h, mine, reverts_with

pytestmark = pytest.mark.ledger

UNAUTHORIZED = "AccessControlUnauthorizedAccount(address,bytes32)"
NOT_OPEN = "TransferNotOpen(bytes32,uint8)"
NOT_RECIPIENT = "NotTransferRecipient(bytes32,address)"
ADMIN_ROLE = b"\x00" * 32
DEPARTMENT_ROLE = Web3.keccak(text="DEPARTMENT_ROLE")
ZERO = b"\x00" * 32
NONE, OPEN, ACCEPTED, REJECTED = range(4)
TRANSFER = h("transfer-1")


@pytest.fixture
def departments(registry: Contract, accounts: Accounts) -> Contract:
    """The registry with dept_a, dept_b and dept_c registered."""
    for name in ("dept_a", "dept_b", "dept_c"):
        call = registry.functions.registerDepartment(getattr(accounts, name), h(name))
        mine(registry.w3, call, accounts.admin)
    return registry


@pytest.fixture
def opened(departments: Contract, accounts: Accounts) -> Contract:
    """The registry with TRANSFER open from dept_a to dept_b."""
    call = departments.functions.openTransfer(TRANSFER, h("case-1"), h("manifest-1"),
                                              accounts.dept_b)
    mine(departments.w3, call, accounts.dept_a)
    return departments


def _status(registry: Contract, transfer_id: bytes = TRANSFER) -> int:
    return int(registry.functions.transferOf(transfer_id).call()[4])


# ---------------------------------------------------------------------------- departments


def test_register_department(registry: Contract, accounts: Accounts) -> None:
    call = registry.functions.registerDepartment(accounts.dept_a, h("ENF"))
    receipt = mine(registry.w3, call, accounts.admin)

    # the receipt also holds OpenZeppelin's RoleGranted log: skip it quietly
    (event,) = registry.events.DepartmentRegistered().process_receipt(receipt, errors=DISCARD)
    assert event["args"]["account"] == accounts.dept_a
    assert event["args"]["departmentIdHash"] == h("ENF")
    assert registry.functions.departmentOf(accounts.dept_a).call() == h("ENF")
    assert registry.functions.hasRole(DEPARTMENT_ROLE, accounts.dept_a).call()
    assert registry.functions.departmentOf(accounts.dept_b).call() == ZERO


@pytest.mark.parametrize("who", ["outsider", "anchorer", "dept_a"])
def test_only_admin_registers_departments(
    departments: Contract, accounts: Accounts, who: str
) -> None:
    sender = getattr(accounts, who)
    with reverts_with(UNAUTHORIZED, sender, ADMIN_ROLE):
        departments.functions.registerDepartment(accounts.outsider, h("x")).transact(
            {"from": sender}
        )


def test_register_department_twice_reverts(departments: Contract, accounts: Accounts) -> None:
    with reverts_with("DepartmentAlreadyRegistered(address)", accounts.dept_a):
        departments.functions.registerDepartment(accounts.dept_a, h("other")).transact(
            {"from": accounts.admin}
        )


def test_register_department_rejects_zero_values(registry: Contract, accounts: Accounts) -> None:
    zero_address = "0x" + "00" * 20
    with reverts_with("ZeroAddress()"):
        registry.functions.registerDepartment(zero_address, h("x")).transact(
            {"from": accounts.admin}
        )
    with reverts_with("ZeroHash()"):
        registry.functions.registerDepartment(accounts.dept_a, ZERO).transact(
            {"from": accounts.admin}
        )


# ------------------------------------------------------------------------------- opening


def test_open_transfer(departments: Contract, accounts: Accounts) -> None:
    call = departments.functions.openTransfer(TRANSFER, h("case-1"), h("manifest-1"),
                                              accounts.dept_b)
    receipt = mine(departments.w3, call, accounts.dept_a)
    block = departments.w3.eth.get_block(receipt["blockNumber"])

    (event,) = departments.events.TransferOpened().process_receipt(receipt)
    assert dict(event["args"]) == {
        "transferId": TRANSFER,
        "fromDepartment": accounts.dept_a,
        "toDepartment": accounts.dept_b,
        "caseIdHash": h("case-1"),
        "manifestRoot": h("manifest-1"),
    }
    assert departments.functions.transferOf(TRANSFER).call() == [
        h("case-1"), h("manifest-1"), accounts.dept_a, accounts.dept_b, OPEN,
        block["timestamp"], 0, ZERO,
    ]


def test_unknown_transfer_has_status_none(registry: Contract) -> None:
    assert _status(registry, h("never")) == NONE


def test_open_same_id_twice_reverts(opened: Contract, accounts: Accounts) -> None:
    for sender, receiver in ((accounts.dept_a, accounts.dept_b),
                             (accounts.dept_c, accounts.dept_a)):
        with reverts_with("TransferIdInUse(bytes32)", TRANSFER):
            opened.functions.openTransfer(TRANSFER, h("case-2"), h("manifest-2"),
                                          receiver).transact({"from": sender})
    assert opened.functions.transferOf(TRANSFER).call()[0] == h("case-1")


def test_open_by_non_department_reverts(departments: Contract, accounts: Accounts) -> None:
    with reverts_with(UNAUTHORIZED, accounts.outsider, DEPARTMENT_ROLE):
        departments.functions.openTransfer(TRANSFER, h("c"), h("m"), accounts.dept_b).transact(
            {"from": accounts.outsider}
        )


def test_open_to_non_department_reverts(departments: Contract, accounts: Accounts) -> None:
    with reverts_with("NotADepartment(address)", accounts.outsider):
        departments.functions.openTransfer(TRANSFER, h("c"), h("m"), accounts.outsider).transact(
            {"from": accounts.dept_a}
        )


def test_open_to_self_reverts(departments: Contract, accounts: Accounts) -> None:
    with reverts_with("SelfTransfer(address)", accounts.dept_a):
        departments.functions.openTransfer(TRANSFER, h("c"), h("m"), accounts.dept_a).transact(
            {"from": accounts.dept_a}
        )


@pytest.mark.parametrize("zeroed", ["transferId", "caseIdHash", "manifestRoot"])
def test_open_with_zero_hash_reverts(
    departments: Contract, accounts: Accounts, zeroed: str
) -> None:
    args = {"transferId": TRANSFER, "caseIdHash": h("c"), "manifestRoot": h("m"), zeroed: ZERO}
    with reverts_with("ZeroHash()"):
        departments.functions.openTransfer(
            args["transferId"], args["caseIdHash"], args["manifestRoot"], accounts.dept_b
        ).transact({"from": accounts.dept_a})


# ----------------------------------------------------------------- accepting and rejecting


def test_receiver_accepts(opened: Contract, accounts: Accounts) -> None:
    receipt = mine(opened.w3, opened.functions.acceptTransfer(TRANSFER), accounts.dept_b)
    block = opened.w3.eth.get_block(receipt["blockNumber"])

    (event,) = opened.events.TransferAccepted().process_receipt(receipt)
    assert dict(event["args"]) == {"transferId": TRANSFER, "toDepartment": accounts.dept_b}
    fields = opened.functions.transferOf(TRANSFER).call()
    assert fields[4] == ACCEPTED
    assert fields[6] == block["timestamp"]


def test_receiver_rejects_with_reason(opened: Contract, accounts: Accounts) -> None:
    call = opened.functions.rejectTransfer(TRANSFER, h("hash mismatch on item 3"))
    receipt = mine(opened.w3, call, accounts.dept_b)

    (event,) = opened.events.TransferRejected().process_receipt(receipt)
    assert event["args"]["reasonHash"] == h("hash mismatch on item 3")
    fields = opened.functions.transferOf(TRANSFER).call()
    assert (fields[4], fields[7]) == (REJECTED, h("hash mismatch on item 3"))


def test_reject_needs_a_reason(opened: Contract, accounts: Accounts) -> None:
    with reverts_with("ZeroHash()"):
        opened.functions.rejectTransfer(TRANSFER, ZERO).transact({"from": accounts.dept_b})


@pytest.mark.parametrize("who", ["dept_a", "dept_c"])
@pytest.mark.parametrize("step", ["accept", "reject"])
def test_wrong_department_cannot_decide(
    opened: Contract, accounts: Accounts, who: str, step: str
) -> None:
    sender = getattr(accounts, who)
    fn = opened.functions
    call = fn.acceptTransfer(TRANSFER) if step == "accept" else fn.rejectTransfer(TRANSFER, h("r"))
    with reverts_with(NOT_RECIPIENT, TRANSFER, sender):
        call.transact({"from": sender})
    assert _status(opened) == OPEN


@pytest.mark.parametrize("who", ["outsider", "admin"])
def test_non_department_cannot_accept(opened: Contract, accounts: Accounts, who: str) -> None:
    sender = getattr(accounts, who)
    with reverts_with(UNAUTHORIZED, sender, DEPARTMENT_ROLE):
        opened.functions.acceptTransfer(TRANSFER).transact({"from": sender})


def test_double_accept_reverts(opened: Contract, accounts: Accounts) -> None:
    mine(opened.w3, opened.functions.acceptTransfer(TRANSFER), accounts.dept_b)
    with reverts_with(NOT_OPEN, TRANSFER, ACCEPTED):
        opened.functions.acceptTransfer(TRANSFER).transact({"from": accounts.dept_b})


def test_accept_after_reject_reverts(opened: Contract, accounts: Accounts) -> None:
    mine(opened.w3, opened.functions.rejectTransfer(TRANSFER, h("r")), accounts.dept_b)
    with reverts_with(NOT_OPEN, TRANSFER, REJECTED):
        opened.functions.acceptTransfer(TRANSFER).transact({"from": accounts.dept_b})
    assert _status(opened) == REJECTED


def test_reject_after_accept_reverts(opened: Contract, accounts: Accounts) -> None:
    mine(opened.w3, opened.functions.acceptTransfer(TRANSFER), accounts.dept_b)
    with reverts_with(NOT_OPEN, TRANSFER, ACCEPTED):
        opened.functions.rejectTransfer(TRANSFER, h("r")).transact({"from": accounts.dept_b})


def test_accept_unknown_transfer_reverts(departments: Contract, accounts: Accounts) -> None:
    with reverts_with(NOT_OPEN, h("never"), NONE):
        departments.functions.acceptTransfer(h("never")).transact({"from": accounts.dept_b})


def test_revoked_department_cannot_accept(opened: Contract, accounts: Accounts) -> None:
    call = opened.functions.revokeRole(DEPARTMENT_ROLE, accounts.dept_b)
    mine(opened.w3, call, accounts.admin)
    with reverts_with(UNAUTHORIZED, accounts.dept_b, DEPARTMENT_ROLE):
        opened.functions.acceptTransfer(TRANSFER).transact({"from": accounts.dept_b})
    assert opened.functions.departmentOf(accounts.dept_b).call() == h("dept_b")
