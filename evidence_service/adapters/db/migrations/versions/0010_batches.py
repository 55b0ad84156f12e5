"""batches: registrations of many files at once (docking-station offloads), by idempotency key

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 08:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'batches',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('department_id', sa.String(length=36), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('created_by', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('item_ids', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_batches_department_id_departments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_batches')),
    )
    op.create_index(op.f('ix_batches_case_id'), 'batches', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_batches_case_id'), table_name='batches')
    op.drop_table('batches')
