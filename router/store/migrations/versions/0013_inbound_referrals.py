"""inbound referrals: the sender, its number and its family's fields on the dispute

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 07:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_column('referral')
