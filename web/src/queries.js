// The GraphQL documents of the page: every request it makes is one of these.

const THREAD_ITEM = `
  id category title activityAt unreadCount isFavorite isMuted isArchived sortKey latestCursor
  lastMessage { id preview(length: 90) direction author { __typename ... on Staff { id name } } }`;

const COUNTS = "members smartlists sessions total";

const MESSAGE = `
  id direction channel subject body createdAt cursor idempotencyKey
  author { __typename ... on Staff { id name } ... on Member { id fullName } }
  deliverySummary { total queued sent delivered failed skipped }`;

const PAYLOAD = `thread { ${THREAD_ITEM} } unreadCounts { ${COUNTS} } userErrors { code field message }`;

/** The first paint: counts, the club and the first page of the list, in one round trip. */
export const INBOX = `query Inbox($category: ThreadCategory!, $status: ThreadStatusFilter!, $search: String) {
  viewer { id name }
  club { id name timezone addons receivesSmsReplies }
  unreadCounts { ${COUNTS} }
  threads(category: $category, status: $status, search: $search, first: 30) {
    edges { cursor node { ${THREAD_ITEM} } }
    pageInfo { hasNextPage endCursor }
    updatesCursor
  }
}`;

export const THREADS = `query Threads($category: ThreadCategory!, $status: ThreadStatusFilter!, $search: String,
    $after: String) {
  threads(category: $category, status: $status, search: $search, first: 30, after: $after) {
    edges { cursor node { ${THREAD_ITEM} } }
    pageInfo { hasNextPage endCursor }
    updatesCursor
  }
}`;

/** A chat: the thread, its target's details and the newest page of its history. */
export const CHAT = `query Chat($id: ID!) {
  thread(id: $id) {
    ... on Thread {
      ${THREAD_ITEM}
      target {
        __typename
        ... on Member {
          id fullName phone email registeredAt birthDate memberNumber barcode barcodeSvg
          address { street postalCode city country }
          emergencyContact { name phone relationship }
          tags accountBalance { amount currency } unpaidInvoicesCount documentsCount notesCount profileUrl
        }
        ... on Smartlist { id name memberCount filterTypes description url }
        ... on Session {
          id name startsAt endsAt level isOnline capacity bookedCount waitlistCount occupancyRate url
          teacher { name photoUrl }
          room { name address { street postalCode city country } }
        }
      }
      messages(last: 30) { edges { node { ${MESSAGE} } } pageInfo { hasPreviousPage startCursor } }
    }
  }
}`;

export const OLDER_MESSAGES = `query Older($id: ID!, $before: String!) {
  thread(id: $id) {
    ... on Thread {
      messages(last: 30, before: $before) { edges { node { ${MESSAGE} } } pageInfo { hasPreviousPage startCursor } }
    }
  }
}`;

export const MARK_READ = `mutation MarkRead($input: ThreadInput!) { markThreadRead(input: $input) { ${PAYLOAD} } }`;
export const MARK_UNREAD = `mutation MarkUnread($input: ThreadInput!) { markThreadUnread(input: $input) { ${PAYLOAD} } }`;
export const SET_FAVORITE = `mutation Favorite($input: SetThreadFlagInput!) { setThreadFavorite(input: $input) { ${PAYLOAD} } }`;
export const SET_MUTED = `mutation Mute($input: SetThreadFlagInput!) { setThreadMuted(input: $input) { ${PAYLOAD} } }`;
export const SET_ARCHIVED = `mutation Archive($input: SetThreadFlagInput!) { setThreadArchived(input: $input) { ${PAYLOAD} } }`;

export const SEND = `mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { message { ${MESSAGE} } ${PAYLOAD} }
}`;

export const START = `mutation Start($id: ID!) {
  startThread(input: { targetId: $id }) { created thread { ${THREAD_ITEM} } userErrors { code field message } }
}`;

export const MEMBERS = `query Members($search: String) {
  members(search: $search, first: 20) { edges { node { id fullName email phone } } }
}`;

export const SMARTLISTS = `query Smartlists($search: String) {
  smartlists(search: $search, first: 30) { edges { node { id name memberCount description } } }
}`;

export const PREVIEW = `query Preview($filters: [SmartlistFilterInput!]!) {
  smartlistPreview(filters: $filters) { memberCount userErrors { code field message } }
}`;

export const CREATE_SMARTLIST = `mutation CreateSmartlist($input: CreateSmartlistInput!) {
  createSmartlist(input: $input) { smartlist { id name } userErrors { code field message } }
}`;

export const SESSION_DAYS = `query Days($from: Date!, $to: Date!) { sessionDays(from: $from, to: $to) { date count } }`;

export const SESSIONS = `query Sessions($from: DateTime!, $to: DateTime!) {
  sessions(from: $from, to: $to, first: 50) { edges { node { id name startsAt endsAt bookedCount capacity } } }
}`;

export const THREAD_UPDATED = `subscription Updates($category: ThreadCategory, $after: String) {
  threadUpdated(category: $category, after: $after) {
    reason updatesCursor thread { ${THREAD_ITEM} } message { ${MESSAGE} }
  }
}`;

export const MESSAGE_ADDED = `subscription Messages($threadId: ID!, $after: String) {
  messageAdded(threadId: $threadId, after: $after) { ${MESSAGE} }
}`;

export const UNREAD_COUNTS = `subscription Counts { unreadCountsChanged { ${COUNTS} } }`;
