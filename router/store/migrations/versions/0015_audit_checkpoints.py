"""audit checkpoints: each chain's head as last verified, keyed so the database alone cannot forge one

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 15:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_checkpoints',
                    sa.Column('stream', sa.String(length=64), nullable=False),
                    sa.Column('seq', sa.Integer(), nullable=False),
                    sa.Column('hash', sa.String(length=64), nullable=False),
                    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('mac', sa.String(length=64), nullable=False),
                    sa.Column('key_id', sa.String(length=16), nullable=False),
                    sa.PrimaryKeyConstraint('stream', name=op.f('pk_audit_checkpoints')))


def downgrade() -> None:
    op.drop_table('audit_checkpoints')
