"""follow-through: outcomes, closure, handoff acknowledgement and outcome, seen webhook ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('closure', sa.JSON(), nullable=True))
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('returned_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('urged', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('seen_requests',
    sa.Column('agency_code', sa.String(length=64), nullable=False),
    sa.Column('webhook_id', sa.String(length=128), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('agency_code', 'webhook_id', name=op.f('pk_seen_requests'))
    )
    with op.batch_alter_table('seen_requests', schema=None) as batch_op:
        batch_op.create_index('ix_seen_requests_seen_at', ['seen_at'], unique=False)


def downgrade() -> None:
    op.drop_table('seen_requests')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        for c in ('urged', 'returned_reason', 'outcome', 'completed_at', 'acknowledged_at'):
            batch_op.drop_column(c)
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_column('closure')
        batch_op.drop_column('outcome')
