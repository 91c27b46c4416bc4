"""interactions: index by event

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 00:30:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # The service's poll counts an organisation's request answers (not the far more
    # numerous served-list rows) to notice answers ingested behind its back.
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index('ix_interactions_event', ['org_id', 'event'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_event')
