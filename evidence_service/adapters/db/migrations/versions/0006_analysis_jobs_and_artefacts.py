"""analysis jobs (persisted, resumable), derived artefacts, per-case analysis options

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 03:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('analysis_options', sa.JSON(), nullable=True))
    op.create_table(
        'analysis_jobs',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('item_id', sa.String(length=36), nullable=False),
        sa.Column('department_id', sa.String(length=36), nullable=False),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('stage', sa.String(length=64), nullable=True),
        sa.Column('progress', sa.Float(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_analysis_jobs_department_id_departments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_jobs')),
    )
    op.create_index(op.f('ix_analysis_jobs_item_id'), 'analysis_jobs', ['item_id'])
    op.create_index(op.f('ix_analysis_jobs_status'), 'analysis_jobs', ['status'])
    op.create_table(
        'derived_artefacts',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('item_id', sa.String(length=36), nullable=False),
        sa.Column('department_id', sa.String(length=36), nullable=False),
        sa.Column('job_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('media_type', sa.String(length=128), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('sm3', sa.String(length=64), nullable=False),
        sa.Column('storage_key', sa.String(length=256), nullable=False),
        sa.Column('derived_from_sha256', sa.String(length=64), nullable=False),
        sa.Column('log_index', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_derived_artefacts_department_id_departments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_derived_artefacts')),
        sa.UniqueConstraint('log_index', name=op.f('uq_derived_artefacts_log_index')),
    )
    op.create_index(op.f('ix_derived_artefacts_item_id'), 'derived_artefacts', ['item_id'])
    op.create_index(op.f('ix_derived_artefacts_job_id'), 'derived_artefacts', ['job_id'])
    op.create_index(op.f('ix_derived_artefacts_sha256'), 'derived_artefacts', ['sha256'])


def downgrade() -> None:
    op.drop_table('derived_artefacts')
    op.drop_table('analysis_jobs')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('analysis_options')
