"""sealed texts: the encrypted originals of free text whose ID and mobile numbers were masked

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sealed_texts',
                    sa.Column('place', sa.String(length=200), nullable=False),
                    sa.Column('dispute_id', sa.String(length=36), nullable=True),
                    sa.Column('kinds', sa.String(length=64), nullable=False),
                    sa.Column('original_enc', sa.LargeBinary(), nullable=False),
                    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('place', name=op.f('pk_sealed_texts')))
    op.create_index('ix_sealed_texts_dispute_id', 'sealed_texts', ['dispute_id'])


def downgrade() -> None:
    op.drop_index('ix_sealed_texts_dispute_id', table_name='sealed_texts')
    op.drop_table('sealed_texts')
