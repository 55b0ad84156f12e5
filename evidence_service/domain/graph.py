"""The relationship graph of one case: who, where, what and by whom, and which items connect.

Node ids are typed and stable, so the same party or place has the same id in every graph::

    case:<uuid>  item:<uuid>  department:<uuid>
    party:<folded name>  place:<folded text>  cause:<folded text>      (``search.fold_term``)
    inspection:<number>  penalty:<number>  recorder:<device id>  officer:<badge number>

Edges point from the case or item to what it names (``contains``, ``concerns``, ...). Two
items that share a party, place, inspection or penalty number get an item↔item edge
(``shares_party``, ...), and so do items with the same SHA-256 (``same_content``); ``via``
names the shared node or digest. A shared value held by more than ``MAX_PAIRWISE_GROUP``
items is linked only through its node (its id, or ``sha256:<digest>``, is listed in
``pairwise_omitted``), so the edge count stays linear in the case size. Nodes and edges
come sorted: equal inputs give equal graphs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from enum import StrEnum
from itertools import combinations

from pydantic import BaseModel, ConfigDict

from evidence_service.domain.models import Case, Department, EvidenceItem, User
from evidence_service.domain.search import fold_term

#: Largest group of items sharing one value that still gets pairwise item↔item edges.
MAX_PAIRWISE_GROUP = 50


class NodeType(StrEnum):
    CASE = "case"
    ITEM = "item"
    DEPARTMENT = "department"
    PARTY = "party"
    PLACE = "place"
    CAUSE = "cause_of_action"
    INSPECTION = "inspection_number"
    PENALTY = "penalty_number"
    RECORDER = "recorder"
    OFFICER = "officer"


class GraphNode(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    type: NodeType
    label: str
    attributes: dict[str, str] = {}


class GraphEdge(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    target: str
    relation: str
    via: str | None = None


class CaseGraph(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    pairwise_omitted: tuple[str, ...] = ()


#: Hub types whose sharing links items pairwise, and the relation of those edges.
_SHARED = {NodeType.PARTY: "shares_party", NodeType.PLACE: "shares_place",
           NodeType.INSPECTION: "shares_inspection_number",
           NodeType.PENALTY: "shares_penalty_number"}
_PREFIX = {NodeType.PARTY: "party", NodeType.PLACE: "place", NodeType.CAUSE: "cause",
           NodeType.INSPECTION: "inspection", NodeType.PENALTY: "penalty",
           NodeType.RECORDER: "recorder", NodeType.OFFICER: "officer"}
_FOLDED = {NodeType.PARTY, NodeType.PLACE, NodeType.CAUSE}


class _Builder:
    def __init__(self) -> None:
        self.nodes: dict[str, GraphNode] = {}
        self.edges: set[tuple[str, str, str, str | None]] = set()
        self.members: dict[str, set[str]] = defaultdict(set)

    def add(self, node_id: str, node_type: NodeType, label: str, /,
            **attributes: str | None) -> str:
        known = self.nodes.get(node_id)
        if known is not None:  # the same folded value written differently: keep one label
            label = min(label, known.label)
        clean = {k: v for k, v in sorted(attributes.items()) if v is not None}
        self.nodes[node_id] = GraphNode(id=node_id, type=node_type, label=label,
                                        attributes=clean)
        return node_id

    def hub(self, kind: NodeType, raw: str | None, /, label: str | None = None,
            **attributes: str | None) -> str | None:
        """The node for a free-text or number value, or None when the value is blank."""
        value = (raw or "").strip()
        key = fold_term(value) if kind in _FOLDED else value
        if not key:
            return None
        return self.add(f"{_PREFIX[kind]}:{key}", kind, label or value, **attributes)

    def link(self, source: str, target: str | None, relation: str) -> None:
        if target is not None:
            self.edges.add((source, target, relation, None))

    def share(self, item_id: str, kind: NodeType, hub_id: str | None) -> None:
        """Record that ``item_id`` names ``hub_id`` (for the item↔item edges)."""
        if hub_id is not None and kind in _SHARED:
            self.members[hub_id].add(item_id)

    def pair(self, items: Iterable[str], relation: str, via: str) -> None:
        for a, b in combinations(sorted(items), 2):
            self.edges.add((a, b, relation, via))


def build_case_graph(*, case: Case, department: Department, items: Sequence[EvidenceItem],
                     officers: Mapping[str, User]) -> CaseGraph:
    """The graph of ``case`` and its ``items``; ``officers`` maps badge numbers to users.

    Pure: reads nothing else and raises nothing for valid models.
    """
    b = _Builder()
    case_id = b.add(f"case:{case.id}", NodeType.CASE, case.case_number, title=case.title,
                    status=case.status.value, classification=case.classification.value)
    dept_id = b.add(f"department:{department.id}", NodeType.DEPARTMENT, department.name,
                    code=department.code, kind=department.kind.value)
    b.link(case_id, dept_id, "owned_by")
    b.link(case_id, b.hub(NodeType.PARTY, case.party), "concerns")
    b.link(case_id, b.hub(NodeType.CAUSE, case.cause_of_action), "cause_of_action")
    by_digest: dict[str, set[str]] = defaultdict(set)
    for item in items:
        item_id = _add_item(b, item, officers, dept_id)
        b.link(case_id, item_id, "contains")
        if item.sha256:
            by_digest[item.sha256].add(item_id)
    groups = [(_SHARED[b.nodes[hub].type], hub, members) for hub, members in b.members.items()]
    groups += [("same_content", f"sha256:{digest}", members)
               for digest, members in by_digest.items()]
    omitted: list[str] = []
    for relation, via, members in groups:
        if len(members) > MAX_PAIRWISE_GROUP:
            omitted.append(via)
        else:
            b.pair(members, relation, via)
    return CaseGraph(
        nodes=tuple(b.nodes[k] for k in sorted(b.nodes)),
        edges=tuple(GraphEdge(source=s, target=t, relation=r, via=v)
                    for s, t, r, v in sorted(b.edges, key=lambda e: (*e[:3], e[3] or ""))),
        pairwise_omitted=tuple(sorted(omitted)))


def _add_item(b: _Builder, item: EvidenceItem, officers: Mapping[str, User],
              dept_id: str) -> str:
    captured = item.capture.captured_at
    item_id = b.add(f"item:{item.id}", NodeType.ITEM, item.original_filename,
                    kind=item.kind.value, status=item.status.value, media_type=item.media_type,
                    sha256=item.sha256,
                    captured_at=captured.astimezone(UTC).isoformat() if captured else None)
    tags, capture = item.tags, item.capture
    named = [(NodeType.PARTY, tags.party, "concerns"),
             (NodeType.PLACE, tags.place, "tagged_place"),
             (NodeType.PLACE, capture.location, "captured_in"),
             (NodeType.CAUSE, tags.cause_of_action, "cause_of_action"),
             (NodeType.INSPECTION, tags.inspection_number, "inspection_number"),
             (NodeType.PENALTY, tags.penalty_number, "penalty_number"),
             (NodeType.RECORDER, capture.recorder_id, "recorded_by_device")]
    for kind, raw, relation in named:
        hub_id = b.hub(kind, raw)
        b.link(item_id, hub_id, relation)
        b.share(item_id, kind, hub_id)
    user = officers.get((capture.badge_number or "").strip())
    officer_id = b.hub(NodeType.OFFICER, capture.badge_number,
                       label=user.display_name if user else None,
                       badge_number=user.badge_number if user else None)
    b.link(item_id, officer_id, "recorded_by_officer")
    if officer_id is not None and user is not None:
        b.link(officer_id, dept_id, "member_of")
    return item_id
