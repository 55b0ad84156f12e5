// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title EvidenceRegistry
/// @notice Anchors the heads of the evidence Merkle log (RFC 9162 tree size and root) and records
///         the custody steps of inter-department transfers. Only hashes and opaque ids are stored:
///         nothing personal goes on-chain.
/// @dev Roles: DEFAULT_ADMIN_ROLE (the governing admin, initially the deployer) registers
///      departments and grants ANCHOR_ROLE; ANCHOR_ROLE publishes tree heads; DEPARTMENT_ROLE
///      opens, accepts and rejects transfers. Every failure reverts with a custom error.
contract EvidenceRegistry is AccessControl {
    /// @notice Role allowed to publish tree heads with {anchor}.
    bytes32 public constant ANCHOR_ROLE = keccak256("ANCHOR_ROLE");
    /// @notice Role held by every registered department account.
    bytes32 public constant DEPARTMENT_ROLE = keccak256("DEPARTMENT_ROLE");

    /// @notice Lifecycle of a transfer. `None` means the id was never used.
    enum TransferStatus {
        None,
        Open,
        Accepted,
        Rejected
    }

    /// @dev One anchored tree head; all zero when the size was never anchored.
    struct Anchor {
        bytes32 root;
        uint64 timestamp;
        uint64 blockNumber;
    }

    /// @dev One transfer, packed into five storage slots.
    struct Transfer {
        bytes32 caseIdHash;
        bytes32 manifestRoot;
        bytes32 reasonHash;
        address fromDepartment;
        TransferStatus status;
        uint64 openedAt;
        address toDepartment;
        uint64 closedAt;
    }

    uint64 private _latestTreeSize;
    mapping(uint64 treeSize => Anchor) private _anchors;
    mapping(address account => bytes32 departmentIdHash) private _departments;
    mapping(bytes32 transferId => Transfer) private _transfers;

    /// @notice A tree head was anchored.
    event Anchored(uint64 indexed treeSize, bytes32 root, uint64 timestamp);
    /// @notice The admin registered `account` as the department `departmentIdHash`.
    event DepartmentRegistered(address indexed account, bytes32 indexed departmentIdHash);
    /// @notice `fromDepartment` offered the case `caseIdHash` to `toDepartment`.
    event TransferOpened(
        bytes32 indexed transferId,
        address indexed fromDepartment,
        address indexed toDepartment,
        bytes32 caseIdHash,
        bytes32 manifestRoot
    );
    /// @notice The receiving department accepted the transfer.
    event TransferAccepted(bytes32 indexed transferId, address indexed toDepartment);
    /// @notice The receiving department rejected the transfer, giving the hash of its reason.
    event TransferRejected(
        bytes32 indexed transferId, address indexed toDepartment, bytes32 reasonHash
    );

    /// @notice The tree size does not exceed the last anchored size.
    error TreeSizeNotIncreasing(uint64 last, uint64 given);
    /// @notice A root, id or hash argument was zero.
    error ZeroHash();
    /// @notice An address argument was the zero address.
    error ZeroAddress();
    /// @notice The account already has a department id.
    error DepartmentAlreadyRegistered(address account);
    /// @notice The account does not hold DEPARTMENT_ROLE.
    error NotADepartment(address account);
    /// @notice A department tried to transfer to itself.
    error SelfTransfer(address department);
    /// @notice The transfer id was used before.
    error TransferIdInUse(bytes32 transferId);
    /// @notice The transfer is not open (never opened, or already accepted or rejected).
    error TransferNotOpen(bytes32 transferId, TransferStatus status);
    /// @notice Only the receiving department may accept or reject the transfer.
    error NotTransferRecipient(bytes32 transferId, address caller);

    /// @notice Makes `msg.sender` the governing admin.
    constructor() {
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
    }

    // ------------------------------------------------------------------ anchoring

    /// @notice Publishes the log head of size `treeSize` with Merkle root `root`.
    /// @dev Reverts with {AccessControlUnauthorizedAccount} without ANCHOR_ROLE, {ZeroHash}
    ///      for a zero root and {TreeSizeNotIncreasing} unless `treeSize` grows.
    function anchor(uint64 treeSize, bytes32 root) external onlyRole(ANCHOR_ROLE) {
        if (root == bytes32(0)) revert ZeroHash();
        uint64 last = _latestTreeSize;
        if (treeSize <= last) revert TreeSizeNotIncreasing(last, treeSize);
        uint64 timestamp = uint64(block.timestamp);
        _latestTreeSize = treeSize;
        _anchors[treeSize] = Anchor(root, timestamp, uint64(block.number));
        emit Anchored(treeSize, root, timestamp);
    }

    /// @notice The head anchored for `treeSize`, or zeros when that size was never anchored.
    function anchorOf(uint64 treeSize)
        external
        view
        returns (bytes32 root, uint64 timestamp, uint64 blockNumber)
    {
        Anchor storage a = _anchors[treeSize];
        return (a.root, a.timestamp, a.blockNumber);
    }

    /// @notice The largest anchored tree size (0 before the first anchor).
    function latestTreeSize() external view returns (uint64) {
        return _latestTreeSize;
    }

    // ---------------------------------------------------------------- departments

    /// @notice Registers `account` as department `departmentIdHash` and grants it DEPARTMENT_ROLE.
    /// @dev Admin only. The id stays recorded even if the role is later revoked; re-grant the
    ///      role with {grantRole} instead of registering again.
    function registerDepartment(address account, bytes32 departmentIdHash)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (account == address(0)) revert ZeroAddress();
        if (departmentIdHash == bytes32(0)) revert ZeroHash();
        if (_departments[account] != bytes32(0)) revert DepartmentAlreadyRegistered(account);
        _departments[account] = departmentIdHash;
        _grantRole(DEPARTMENT_ROLE, account);
        emit DepartmentRegistered(account, departmentIdHash);
    }

    /// @notice The department id hash registered for `account` (zero if none).
    function departmentOf(address account) external view returns (bytes32) {
        return _departments[account];
    }

    // ------------------------------------------------------------------ transfers

    /// @notice Offers the case `caseIdHash` (items summarised by `manifestRoot`) to `toDepartment`.
    /// @dev The sender and `toDepartment` must both hold DEPARTMENT_ROLE and differ;
    ///      `transferId` must be unused.
    function openTransfer(
        bytes32 transferId,
        bytes32 caseIdHash,
        bytes32 manifestRoot,
        address toDepartment
    ) external onlyRole(DEPARTMENT_ROLE) {
        if (transferId == bytes32(0) || caseIdHash == bytes32(0) || manifestRoot == bytes32(0)) {
            revert ZeroHash();
        }
        if (toDepartment == msg.sender) revert SelfTransfer(msg.sender);
        if (!hasRole(DEPARTMENT_ROLE, toDepartment)) revert NotADepartment(toDepartment);
        Transfer storage t = _transfers[transferId];
        if (t.status != TransferStatus.None) revert TransferIdInUse(transferId);
        t.caseIdHash = caseIdHash;
        t.manifestRoot = manifestRoot;
        t.fromDepartment = msg.sender;
        t.toDepartment = toDepartment;
        t.status = TransferStatus.Open;
        t.openedAt = uint64(block.timestamp);
        emit TransferOpened(transferId, msg.sender, toDepartment, caseIdHash, manifestRoot);
    }

    /// @notice The receiving department accepts the open transfer `transferId`.
    function acceptTransfer(bytes32 transferId) external onlyRole(DEPARTMENT_ROLE) {
        _close(transferId, TransferStatus.Accepted);
        emit TransferAccepted(transferId, msg.sender);
    }

    /// @notice The receiving department rejects the open transfer `transferId`.
    /// @param reasonHash Hash of the reason text kept off-chain (must be non-zero).
    function rejectTransfer(bytes32 transferId, bytes32 reasonHash)
        external
        onlyRole(DEPARTMENT_ROLE)
    {
        if (reasonHash == bytes32(0)) revert ZeroHash();
        _close(transferId, TransferStatus.Rejected).reasonHash = reasonHash;
        emit TransferRejected(transferId, msg.sender, reasonHash);
    }

    /// @notice Every recorded field of transfer `transferId`; status `None` if it was never opened.
    function transferOf(bytes32 transferId)
        external
        view
        returns (
            bytes32 caseIdHash,
            bytes32 manifestRoot,
            address fromDepartment,
            address toDepartment,
            TransferStatus status,
            uint64 openedAt,
            uint64 closedAt,
            bytes32 reasonHash
        )
    {
        Transfer storage t = _transfers[transferId];
        return (
            t.caseIdHash,
            t.manifestRoot,
            t.fromDepartment,
            t.toDepartment,
            t.status,
            t.openedAt,
            t.closedAt,
            t.reasonHash
        );
    }

    /// @dev Moves an open transfer addressed to `msg.sender` into its final `status`.
    function _close(bytes32 transferId, TransferStatus status)
        private
        returns (Transfer storage t)
    {
        t = _transfers[transferId];
        if (t.status != TransferStatus.Open) revert TransferNotOpen(transferId, t.status);
        if (t.toDepartment != msg.sender) revert NotTransferRecipient(transferId, msg.sender);
        t.status = status;
        t.closedAt = uint64(block.timestamp);
    }
}
