"""api keys, prompt logs, index versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:54:59.815561
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('pools', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_prefix'), ['prefix'], unique=False)

    op.create_table('index_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('embedding_model', sa.String(length=500), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('labeled_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pool_id', 'kind', 'version', name='uq_index_pool_kind_version')
    )
    with op.batch_alter_table('index_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_index_versions_pool_id'), ['pool_id'], unique=False)

    op.create_table('prompt_logs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('query_hash', sa.String(length=64), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('retriever', sa.String(length=100), nullable=False),
    sa.Column('template', sa.String(length=200), nullable=False),
    sa.Column('demo_ids', sa.JSON(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('n_tokens', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pool_id'], ['pools.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('prompt_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prompt_logs_pool_id'), ['pool_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prompt_logs_query_hash'), ['query_hash'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('prompt_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prompt_logs_query_hash'))
        batch_op.drop_index(batch_op.f('ix_prompt_logs_pool_id'))

    op.drop_table('prompt_logs')
    with op.batch_alter_table('index_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_index_versions_pool_id'))

    op.drop_table('index_versions')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_prefix'))

    op.drop_table('api_keys')
