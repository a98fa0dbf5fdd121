"""并单: a registration merged into an open dispute, and the party copies it brought

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_disputes_merged_into'), ['merged_into'], unique=False)
        batch_op.create_foreign_key(op.f('fk_disputes_merged_into_disputes'), 'disputes', ['merged_into'], ['id'])
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_from', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('mask_name', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.drop_column('mask_name')
        batch_op.drop_column('merged_from')
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_disputes_merged_into_disputes'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_disputes_merged_into'))
        batch_op.drop_column('merged_into')
