"""The signed-in staff user."""

from __future__ import annotations

from models import Staff
from models.lookups import row_by_id
from resolvers.context import Context


async def load_viewer(ctx: Context) -> Staff | None:
    principal = ctx.require_principal()
    if principal.staff_id is None:
        return None
    if principal.staff is not None:
        return principal.staff
    async with ctx.db() as session:
        return await row_by_id(session, Staff, principal.staff_id)
