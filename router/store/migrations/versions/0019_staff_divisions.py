"""Division-scoped staff: a user may be limited to one division's subtree

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 01:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('division', sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('division')
