"""integrity scans: one row per pass of the integrity scanner (time, coverage, bytes)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'integrity_scans',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('items_total', sa.BigInteger(), nullable=False),
        sa.Column('items_checked', sa.BigInteger(), nullable=False),
        sa.Column('artefacts_total', sa.BigInteger(), nullable=False),
        sa.Column('artefacts_checked', sa.BigInteger(), nullable=False),
        sa.Column('bytes_scanned', sa.BigInteger(), nullable=False),
        sa.Column('mismatches', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integrity_scans')),
    )
    op.create_index(op.f('ix_integrity_scans_started_at'), 'integrity_scans', ['started_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_integrity_scans_started_at'), table_name='integrity_scans')
    op.drop_table('integrity_scans')
