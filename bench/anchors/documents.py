"""The GraphQL documents measured: the inbox's own operations, and PostGraphile's closest equivalent page."""

from __future__ import annotations

PAGE_SIZE = 50
HISTORY_SIZE = 30

# What the web inbox asks for its thread list (MEMBER, 50): everything a row shows, and what it needs to
# page on and to follow live updates.
THREADS_PAGE = """query ThreadsPage($after: String) {
  threads(category: MEMBER, status: ALL, first: 50, after: $after) {
    updatesCursor
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id title unreadCount isFavorite isMuted isArchived activityAt sortKey
      lastMessage { id preview direction createdAt }
      target {
        __typename
        ... on Member { id fullName email phone tags photoUrl }
        ... on Smartlist { id name }
        ... on Session { id name startsAt }
      }
    } }
  }
}"""

# PostGraphile v5 (Amber preset) over the same tables: the same 50 member threads of the club, newest
# first, each with its member, its last message, and the viewer's own state row (read marker and flags).
POSTGRAPHILE_THREADS_PAGE = """query ThreadsPage($club: BigInt!, $staff: BigInt!, $after: Cursor) {
  allThreads(first: 50, after: $after, condition: {clubId: $club, category: "MEMBER"},
             orderBy: [SORT_AT_DESC, ROW_ID_DESC]) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id rowId sortAt lastSeq inboundCount lastMessageAt createdAt
      memberByMemberId { id rowId firstName lastName email phone tags photoUrl }
      messagesByThreadId(first: 1, orderBy: SEQ_DESC) { nodes { id body direction createdAt seq } }
      threadStatesByThreadId(condition: {staffId: $staff}) {
        nodes { readSeq readInboundCount forcedUnread isFavorite isMuted isArchived mutedActivityAt }
      }
    } }
  }
}"""

VIEWER = "{ viewer { id } }"

HISTORY = """query History($id: ID!) {
  node(id: $id) { ... on Thread { id messages(last: 30) {
    pageInfo { hasPreviousPage startCursor }
    edges { cursor node {
      id direction channel subject body createdAt
      author { __typename ... on Staff { name } ... on Member { fullName } }
      deliverySummary { total queued sent delivered failed skipped }
    } }
  } } }
}"""

UNREAD_COUNTS = "query UnreadCounts { unreadCounts { members smartlists sessions total } }"

MEMBERS_SEARCH = """query Members($search: String) {
  members(search: $search, first: 20) {
    pageInfo { hasNextPage endCursor }
    edges { node { id fullName email phone tags thread { id } } }
  }
}"""

SEND = """mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) {
    message { id cursor createdAt deliverySummary { total queued skipped } }
    thread { id sortKey unreadCount activityAt }
    userErrors { code field message }
  }
}"""

# What a live inbox list subscribes to: the changed row, its edge, and the new message.
THREAD_UPDATED = """subscription Live {
  threadUpdated(category: MEMBER) {
    reason updatesCursor
    edge { cursor }
    thread { id unreadCount activityAt sortKey lastMessage { id preview direction createdAt } }
    message { id body }
  }
}"""
