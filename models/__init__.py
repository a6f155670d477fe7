"""SQLAlchemy models, engine and session setup, and the alembic migrations."""

from models.base import Base, ClubScoped, UTCDateTime, utcnow
from models.tables import (
    ApiKey,
    Booking,
    Club,
    Delivery,
    Member,
    MemberTag,
    Message,
    Session,
    Smartlist,
    Staff,
    Thread,
    ThreadChange,
    ThreadState,
    UnmatchedInbound,
)

__all__ = [
    "ApiKey", "Base", "Booking", "Club", "ClubScoped", "Delivery", "Member", "MemberTag", "Message",
    "Session", "Smartlist", "Staff", "Thread", "ThreadChange", "ThreadState", "UTCDateTime", "UnmatchedInbound",
    "utcnow",
]
