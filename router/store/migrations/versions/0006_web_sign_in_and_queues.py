"""web sign-in (passwords, lock-out) and the workbench queues' indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.create_index('ix_parties_name', ['name'], unique=False)
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_handoffs_state_ack_due', ['state', 'ack_due'], unique=False)
        batch_op.create_index('ix_handoffs_state_handle_due', ['state', 'handle_due'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_handoffs_state_handle_due')
        batch_op.drop_index('ix_handoffs_state_ack_due')
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.drop_index('ix_parties_name')
    with op.batch_alter_table('users', schema=None) as batch_op:
        for c in ('locked_until', 'failed_logins', 'password_changed_at', 'password_hash'):
            batch_op.drop_column(c)
