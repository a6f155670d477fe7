"""change stamps from the log: the club keeps only the newest stamp pruned from it

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The club's current stamp is at least the newest pruned: it stays a valid floor.
    with op.batch_alter_table('club', schema=None) as batch_op:
        batch_op.alter_column('change_seq', new_column_name='pruned_change_seq')


def downgrade() -> None:
    with op.batch_alter_table('club', schema=None) as batch_op:
        batch_op.alter_column('pruned_change_seq', new_column_name='change_seq')
    # The club's row held the current stamp then.
    op.execute(sa.text(
        "UPDATE club SET change_seq = (SELECT CASE WHEN max(seq) > club.change_seq THEN max(seq) "
        "ELSE club.change_seq END FROM thread_change WHERE thread_change.club_id = club.id)"))
