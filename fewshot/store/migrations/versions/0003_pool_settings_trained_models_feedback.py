"""pool settings, trained models, LM feedback scores

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 14:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settings', sa.JSON(), nullable=True))

    op.create_table('trained_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('base_model', sa.String(length=500), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'version', name='uq_trained_models_name_version')
    )
    op.create_table('feedback_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lm', sa.String(length=500), nullable=False),
    sa.Column('template_hash', sa.String(length=64), nullable=False),
    sa.Column('item_hash', sa.String(length=64), nullable=False),
    sa.Column('demo_hash', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('n_tokens', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('lm', 'template_hash', 'item_hash', 'demo_hash', name='uq_feedback_key')
    )
    with op.batch_alter_table('feedback_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_scores_item_hash'), ['item_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_scores_item_hash'))
    op.drop_table('feedback_scores')
    op.drop_table('trained_models')
    with op.batch_alter_table('pools', schema=None) as batch_op:
        batch_op.drop_column('settings')
