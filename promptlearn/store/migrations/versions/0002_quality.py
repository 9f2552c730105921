"""learning quality: stated confidence on rollouts, and quality records

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column: SQLite adds it in place, old rows read as "no confidence stated".
    op.add_column('rollout', sa.Column('confidence', sa.Float(), nullable=True))
    op.create_table('quality_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('detail_json', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_quality_record_kind'), 'quality_record', ['kind'], unique=False)
    op.create_index(op.f('ix_quality_record_run_id'), 'quality_record', ['run_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_quality_record_run_id'), table_name='quality_record')
    op.drop_index(op.f('ix_quality_record_kind'), table_name='quality_record')
    op.drop_table('quality_record')
    with op.batch_alter_table('rollout') as batch:
        batch.drop_column('confidence')
