"""custody events, transfers, approvals, integrity alerts; department accounts; provenance

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:10:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_address', sa.String(length=42), nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_case_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('transfer_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_origin_case_id'), ['origin_case_id'],
                              unique=False)
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('labels', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('origin_item_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_evidence_items_origin_item_id'),
                              ['origin_item_id'], unique=False)
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.alter_column('labels', server_default=None)
    op.create_table(
        'custody_events',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('log_index', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('item_id', sa.String(length=36), nullable=True),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('department_id', sa.String(length=36), nullable=False),
        sa.Column('actor_id', sa.String(length=36), nullable=False),
        sa.Column('actor_name', sa.String(length=256), nullable=False),
        sa.Column('client', sa.String(length=512), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('subject', sa.String(length=128), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_events')),
        sa.UniqueConstraint('log_index', name=op.f('uq_custody_events_log_index')),
    )
    op.create_index(op.f('ix_custody_events_item_id'), 'custody_events', ['item_id'])
    op.create_index(op.f('ix_custody_events_case_id'), 'custody_events', ['case_id'])
    op.create_table(
        'transfers',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('from_department_id', sa.String(length=36), nullable=False),
        sa.Column('to_department_id', sa.String(length=36), nullable=False),
        sa.Column('item_ids', sa.JSON(), nullable=False),
        sa.Column('manifest_root', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_by', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opened', sa.JSON(), nullable=False),
        sa.Column('decided', sa.JSON(), nullable=True),
        sa.Column('decided_by', sa.String(length=36), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('checks', sa.JSON(), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('received_case_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['from_department_id'], ['departments.id'],
                                name=op.f('fk_transfers_from_department_id_departments')),
        sa.ForeignKeyConstraint(['to_department_id'], ['departments.id'],
                                name=op.f('fk_transfers_to_department_id_departments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers')),
    )
    op.create_index(op.f('ix_transfers_case_id'), 'transfers', ['case_id'])
    op.create_index(op.f('ix_transfers_from_department_id'), 'transfers', ['from_department_id'])
    op.create_index(op.f('ix_transfers_to_department_id'), 'transfers', ['to_department_id'])
    op.create_table(
        'approvals',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('item_id', sa.String(length=36), nullable=False),
        sa.Column('department_id', sa.String(length=36), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('granted_by', sa.String(length=36), nullable=False),
        sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('log_index', sa.BigInteger(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_approvals_department_id_departments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals')),
    )
    op.create_index(op.f('ix_approvals_item_id'), 'approvals', ['item_id'])
    op.create_table(
        'integrity_alerts',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('department_id', sa.String(length=36), nullable=False),
        sa.Column('item_id', sa.String(length=36), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_integrity_alerts_department_id_departments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integrity_alerts')),
    )
    op.create_index(op.f('ix_integrity_alerts_department_id'), 'integrity_alerts',
                    ['department_id'])
    op.create_index(op.f('ix_integrity_alerts_item_id'), 'integrity_alerts', ['item_id'])


def downgrade() -> None:
    for table in ('integrity_alerts', 'approvals', 'transfers', 'custody_events'):
        op.drop_table(table)
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_items_origin_item_id'))
        batch_op.drop_column('origin_item_id')
        batch_op.drop_column('labels')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_origin_case_id'))
        batch_op.drop_column('transfer_id')
        batch_op.drop_column('origin_case_id')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('chain_address')
