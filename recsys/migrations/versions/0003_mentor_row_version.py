"""mentors: row_version, capacity_raised_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 22:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Existing rows start at version 1 and no known capacity raise.
    with op.batch_alter_table('mentors', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('row_version', sa.Integer(), server_default='1', nullable=False)
        )
        batch_op.add_column(sa.Column('capacity_raised_at', sa.Date(), nullable=True))
        batch_op.create_index(
            'ix_mentors_versions', ['org_id', 'id', 'row_version'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('mentors', schema=None) as batch_op:
        batch_op.drop_index('ix_mentors_versions')
        batch_op.drop_column('capacity_raised_at')
        batch_op.drop_column('row_version')
