"""mentors, mentees: working-style answers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ('mentors', 'mentees')
COLUMNS = ('style_structure', 'style_modality')


def upgrade() -> None:
    # Nullable: profiles stored before the form asked (and forms that do not ask) have none;
    # the style is then read from the free text alone.
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in COLUMNS:
                batch_op.add_column(sa.Column(column, sa.String(length=16), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in COLUMNS:
                batch_op.drop_column(column)
