"""report figures (folded from the audit events), early-warning signals and the kept case files

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_files',
    sa.Column('dispute_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('bundle', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('dispute_id', name=op.f('pk_case_files'))
    )
    op.create_table('dispute_figures',
    sa.Column('dispute_id', sa.String(length=36), nullable=False),
    sa.Column('division', sa.String(length=12), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('escalation_risk', sa.Boolean(), nullable=False),
    sa.Column('alert_flags', sa.String(length=128), nullable=True),
    sa.Column('claimed', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('failed_on', sa.Date(), nullable=True),
    sa.Column('concluded_on', sa.Date(), nullable=True),
    sa.Column('agreed_amount', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('fulfilled_on', sa.Date(), nullable=True),
    sa.Column('confirmed_on', sa.Date(), nullable=True),
    sa.Column('closure', sa.String(length=32), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('district', sa.String(length=12), nullable=True),
    sa.Column('town', sa.String(length=12), nullable=True),
    sa.Column('village', sa.String(length=12), nullable=True),
    sa.Column('category', sa.String(length=48), nullable=False),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('agency', sa.String(length=64), nullable=True),
    sa.Column('tier', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('dispute_id', name=op.f('pk_dispute_figures'))
    )
    with op.batch_alter_table('dispute_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispute_figures_alert_flags'), ['alert_flags'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_figures_concluded_on'), ['concluded_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_figures_confirmed_on'), ['confirmed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_figures_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_figures_registered_on'), ['registered_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_figures_town'), ['town'], unique=False)

    op.create_table('follow_ups',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('dispute_id', sa.String(length=36), nullable=False),
    sa.Column('recorded_on', sa.Date(), nullable=False),
    sa.Column('satisfaction', sa.String(length=24), nullable=True),
    sa.Column('satisfied', sa.Boolean(), nullable=False),
    sa.Column('district', sa.String(length=12), nullable=True),
    sa.Column('town', sa.String(length=12), nullable=True),
    sa.Column('village', sa.String(length=12), nullable=True),
    sa.Column('category', sa.String(length=48), nullable=False),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('agency', sa.String(length=64), nullable=True),
    sa.Column('tier', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_follow_ups'))
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_ups_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_recorded_on'), ['recorded_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_town'), ['town'], unique=False)

    op.create_table('handoff_figures',
    sa.Column('handoff_id', sa.String(length=36), nullable=False),
    sa.Column('dispute_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('offered_on', sa.Date(), nullable=False),
    sa.Column('ack_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acked_on', sa.Date(), nullable=True),
    sa.Column('handle_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped', sa.Boolean(), nullable=False),
    sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome_on', sa.Date(), nullable=True),
    sa.Column('outcome_result', sa.String(length=16), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_state', sa.String(length=16), nullable=True),
    sa.Column('district', sa.String(length=12), nullable=True),
    sa.Column('town', sa.String(length=12), nullable=True),
    sa.Column('village', sa.String(length=12), nullable=True),
    sa.Column('category', sa.String(length=48), nullable=False),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('agency', sa.String(length=64), nullable=True),
    sa.Column('tier', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('handoff_id', name=op.f('pk_handoff_figures'))
    )
    with op.batch_alter_table('handoff_figures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_figures_acked_on'), ['acked_on'], unique=False)
        batch_op.create_index('ix_handoff_figures_agency_offered_on', ['agency', 'offered_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoff_figures_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoff_figures_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoff_figures_ended_on'), ['ended_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoff_figures_offered_on'), ['offered_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoff_figures_outcome_on'), ['outcome_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoff_figures_town'), ['town'], unique=False)

    op.create_table('signals',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('dispute_id', sa.String(length=36), nullable=True),
    sa.Column('agency', sa.String(length=64), nullable=True),
    sa.Column('division', sa.String(length=12), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_signals'))
    )
    with op.batch_alter_table('signals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signals_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index('ix_signals_open', ['cleared_at', 'raised_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('signals', schema=None) as batch_op:
        batch_op.drop_index('ix_signals_open')
        batch_op.drop_index(batch_op.f('ix_signals_dispute_id'))

    op.drop_table('signals')
    with op.batch_alter_table('handoff_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_figures_town'))
        batch_op.drop_index(batch_op.f('ix_handoff_figures_outcome_on'))
        batch_op.drop_index(batch_op.f('ix_handoff_figures_offered_on'))
        batch_op.drop_index(batch_op.f('ix_handoff_figures_ended_on'))
        batch_op.drop_index(batch_op.f('ix_handoff_figures_district'))
        batch_op.drop_index(batch_op.f('ix_handoff_figures_dispute_id'))
        batch_op.drop_index('ix_handoff_figures_agency_offered_on')
        batch_op.drop_index(batch_op.f('ix_handoff_figures_acked_on'))

    op.drop_table('handoff_figures')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_town'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_recorded_on'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_district'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_dispute_id'))

    op.drop_table('follow_ups')
    with op.batch_alter_table('dispute_figures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispute_figures_town'))
        batch_op.drop_index(batch_op.f('ix_dispute_figures_registered_on'))
        batch_op.drop_index(batch_op.f('ix_dispute_figures_district'))
        batch_op.drop_index(batch_op.f('ix_dispute_figures_confirmed_on'))
        batch_op.drop_index(batch_op.f('ix_dispute_figures_concluded_on'))
        batch_op.drop_index(batch_op.f('ix_dispute_figures_alert_flags'))

    op.drop_table('dispute_figures')
    op.drop_table('case_files')
