"""国密: the database's cryptographic suite, and each agency's signing algorithm

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 19:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('store_settings',
                    sa.Column('key', sa.String(length=64), nullable=False),
                    sa.Column('value', sa.String(length=256), nullable=False),
                    sa.PrimaryKeyConstraint('key', name=op.f('pk_store_settings')))
    with op.batch_alter_table('agencies') as batch:
        batch.add_column(sa.Column('signing', sa.String(length=16), server_default='hmac-sha256', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('agencies') as batch:
        batch.drop_column('signing')
    op.drop_table('store_settings')
