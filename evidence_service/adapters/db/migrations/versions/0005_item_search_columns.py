"""evidence items carry search columns derived from their tags and capture metadata

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:00:00

Backfills existing rows. The folding is copied here (not imported) so that this revision
keeps doing what it did when it was written.
"""

import json
import unicodedata
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_TEXT = ('search_party', 'search_place', 'search_location', 'search_cause')


def _fold(value):
    if not isinstance(value, str) or not value.strip():
        return None
    return ' '.join(unicodedata.normalize('NFKC', value).casefold().split())


def _moment(value):
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return None if parsed.tzinfo is None else parsed.astimezone(UTC)


def _as_dict(value):
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def upgrade() -> None:
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        for name in _TEXT:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('inspection_number', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('penalty_number', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('captured_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_evidence_items_captured', ['department_id', 'captured_at'],
                              unique=False)
        batch_op.create_index('ix_evidence_items_inspection',
                              ['department_id', 'inspection_number'], unique=False)
        batch_op.create_index('ix_evidence_items_penalty', ['department_id', 'penalty_number'],
                              unique=False)
    items = sa.table('evidence_items', sa.column('id', sa.String), sa.column('tags', sa.JSON),
                     sa.column('capture', sa.JSON),
                     *(sa.column(name, sa.Text) for name in _TEXT),
                     sa.column('inspection_number', sa.String),
                     sa.column('penalty_number', sa.String),
                     sa.column('captured_at', sa.DateTime(timezone=True)))
    bind = op.get_bind()
    for item_id, raw_tags, raw_capture in bind.execute(
            sa.select(items.c.id, items.c.tags, items.c.capture)).all():
        tags, capture = _as_dict(raw_tags), _as_dict(raw_capture)
        bind.execute(items.update().where(items.c.id == item_id).values(
            search_party=_fold(tags.get('party')), search_place=_fold(tags.get('place')),
            search_location=_fold(capture.get('location')),
            search_cause=_fold(tags.get('cause_of_action')),
            inspection_number=tags.get('inspection_number') or None,
            penalty_number=tags.get('penalty_number') or None,
            captured_at=_moment(capture.get('captured_at'))))


def downgrade() -> None:
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_items_penalty')
        batch_op.drop_index('ix_evidence_items_inspection')
        batch_op.drop_index('ix_evidence_items_captured')
        for name in ('captured_at', 'penalty_number', 'inspection_number', *reversed(_TEXT)):
            batch_op.drop_column(name)
