"""Object types of the schema: wrappers built from domain rows, so resolvers never import schema.

One module per concern (pages, members, targets, messages, threads); this package names what the
rest of the schema uses, as `schema.types` always did."""

from __future__ import annotations

from schema.types.members import Club, Member, Staff, member_columns, member_connection
from schema.types.messages import Delivery, Message
from schema.types.pages import Connection, Edge, Node, connection
from schema.types.targets import Session, SessionDay, Smartlist
from schema.types.threads import Thread, ThreadConnection, ThreadUpdate, UnreadCounts, wrap_node

__all__ = [
    "Club", "Connection", "Delivery", "Edge", "Member", "Message", "Node", "Session", "SessionDay", "Smartlist",
    "Staff", "Thread", "ThreadConnection", "ThreadUpdate", "UnreadCounts", "connection", "member_columns",
    "member_connection", "wrap_node",
]
