"""document templates, notice receipts, derived files

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 09:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('document_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'version', name='uq_document_template_version')
    )
    with op.batch_alter_table('document_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_template_name'), ['name'], unique=False)

    op.create_table('notice_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('remind_date', sa.Date(), nullable=True),
    sa.Column('reminded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('attachment_id', 'unit_id', name='uq_notice_receipt_unit')
    )
    with op.batch_alter_table('notice_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_receipt_acknowledged_at'), ['acknowledged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_receipt_attachment_id'), ['attachment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_receipt_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_receipt_unit_id'), ['unit_id'], unique=False)

    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('derived_from_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachment_derived_from_id'), ['derived_from_id'], unique=False)
        batch_op.create_foreign_key('fk_attachment_derived_from_id', 'attachment', ['derived_from_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_constraint('fk_attachment_derived_from_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachment_derived_from_id'))
        batch_op.drop_column('derived_from_id')

    with op.batch_alter_table('notice_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_receipt_unit_id'))
        batch_op.drop_index(batch_op.f('ix_notice_receipt_case_id'))
        batch_op.drop_index(batch_op.f('ix_notice_receipt_attachment_id'))
        batch_op.drop_index(batch_op.f('ix_notice_receipt_acknowledged_at'))

    op.drop_table('notice_receipt')
    with op.batch_alter_table('document_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_template_name'))

    op.drop_table('document_template')
