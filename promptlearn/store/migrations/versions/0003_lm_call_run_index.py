"""index lm_call.run_id: a run's report reads its calls; without the index it scans every call ever stored

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_lm_call_run_id'), 'lm_call', ['run_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_lm_call_run_id'), table_name='lm_call')
