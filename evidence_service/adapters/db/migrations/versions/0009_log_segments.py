"""log segments: ranges of the evidence log sealed into object storage before each anchor

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 05:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'log_segments',
        sa.Column('first_index', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('end_index', sa.BigInteger(), nullable=False),
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('root', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('first_index', name=op.f('pk_log_segments')),
        sa.UniqueConstraint('end_index', name=op.f('uq_log_segments_end_index')),
    )


def downgrade() -> None:
    op.drop_table('log_segments')
