"""log entries carry their content digests, for public lookups by hash

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:05:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('sm3', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_log_entries_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_log_entries_sm3'), ['sm3'], unique=False)
    bind = op.get_bind()
    entries = sa.table('log_entries', sa.column('index', sa.BigInteger),
                       sa.column('entry', sa.LargeBinary), sa.column('sha256', sa.String),
                       sa.column('sm3', sa.String))
    for index, entry in bind.execute(sa.select(entries.c.index, entries.c.entry)).all():
        fields = json.loads(bytes(entry))
        bind.execute(entries.update().where(entries.c.index == index).values(
            sha256=fields.get('sha256'), sm3=fields.get('sm3')))


def downgrade() -> None:
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_log_entries_sm3'))
        batch_op.drop_index(batch_op.f('ix_log_entries_sha256'))
        batch_op.drop_column('sm3')
        batch_op.drop_column('sha256')
