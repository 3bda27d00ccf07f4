"""staged imports: file ingests staged in batches, published in one transaction

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 05:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staged_imports',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('pool_name', sa.String(length=200), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staged_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staged_imports_heartbeat_at'), ['heartbeat_at'], unique=False)

    op.create_table('staged_examples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.String(length=32), nullable=False),
    sa.Column('example_id', sa.Integer(), nullable=True),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staged_examples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staged_examples_import_id'), ['import_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staged_examples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staged_examples_import_id'))
    op.drop_table('staged_examples')
    with op.batch_alter_table('staged_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staged_imports_heartbeat_at'))
    op.drop_table('staged_imports')
