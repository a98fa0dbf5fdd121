"""联动: link requests (an assisting body, an expert opinion, a transfer) and their decisions; when an
agency was last found reachable after an outage; the body that supervises it; a dispute's urgency; each party's consent to share

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'link_requests',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('dispute_id', sa.String(length=36), nullable=False),
        sa.Column('handoff_id', sa.String(length=36), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('body_type', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('asked_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.Column('result_handoff_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_link_requests_dispute_id_disputes'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], name=op.f('fk_link_requests_handoff_id_handoffs')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_link_requests')),
    )
    with op.batch_alter_table('link_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_requests_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_requests_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_requests_handoff_id'), ['handoff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_requests_result_handoff_id'), ['result_handoff_id'], unique=False)


    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recovered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('supervised_by', sa.String(length=64), nullable=True))
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgency', sa.String(length=16), nullable=True))
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('sharing_basis', sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.drop_column('sharing_basis')
        batch_op.drop_column('consent')
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_column('urgency')
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('supervised_by')
        batch_op.drop_column('recovered_at')
    op.drop_table('link_requests')
