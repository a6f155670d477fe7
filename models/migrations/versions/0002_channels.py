"""channels: dispatcher claims, used Mailgun tokens, unmatched dedupe

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

PROVIDER_ID_SET = sa.text("provider_message_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sending_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_delivery_provider_id', ['provider_message_id'], unique=False,
                              postgresql_where=PROVIDER_ID_SET, sqlite_where=PROVIDER_ID_SET)

    with op.batch_alter_table('unmatched_inbound', schema=None) as batch_op:
        batch_op.create_index('uq_unmatched_provider_id', ['channel', 'provider_message_id'], unique=True,
                              postgresql_where=PROVIDER_ID_SET, sqlite_where=PROVIDER_ID_SET)

    op.create_table('mailgun_token',
    sa.Column('token', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.Column('signed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_mailgun_token'))
    )
    with op.batch_alter_table('mailgun_token', schema=None) as batch_op:
        batch_op.create_index('ix_mailgun_token_signed_at', ['signed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mailgun_token', schema=None) as batch_op:
        batch_op.drop_index('ix_mailgun_token_signed_at')
    op.drop_table('mailgun_token')

    with op.batch_alter_table('unmatched_inbound', schema=None) as batch_op:
        batch_op.drop_index('uq_unmatched_provider_id', postgresql_where=PROVIDER_ID_SET, sqlite_where=PROVIDER_ID_SET)

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_provider_id', postgresql_where=PROVIDER_ID_SET, sqlite_where=PROVIDER_ID_SET)
        batch_op.drop_column('sending_at')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
