"""audit anchors: a daily digest of the verified chain heads, chained, for a witness outside

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_anchors',
                    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('prev_digest', sa.String(length=64), nullable=False),
                    sa.Column('digest', sa.String(length=64), nullable=False),
                    sa.Column('heads', sa.JSON(), nullable=False),
                    sa.Column('streams', sa.Integer(), nullable=False),
                    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('send_error', sa.String(length=500), nullable=True),
                    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_anchors')),
                    sa.UniqueConstraint('digest', name=op.f('uq_audit_anchors_digest')))


def downgrade() -> None:
    op.drop_table('audit_anchors')
