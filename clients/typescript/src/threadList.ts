// Keeping a cached thread list in order from threadUpdated alone: replace or insert the updated edge,
// drop it when it left the list's status filter, and sort by sortKey (greatest first, as `threads` does).
import type { ThreadItemFragment, ThreadListQuery, ThreadStatusFilter } from "./gql/graphql.js";

type Connection = ThreadListQuery["threads"];
type Edge = Connection["edges"][number];

export function belongs(thread: ThreadItemFragment, status: ThreadStatusFilter | null | undefined): boolean {
  switch (status ?? "ALL") {
    case "ARCHIVED":
      return thread.isArchived;
    case "UNREAD":
      return !thread.isArchived && thread.unreadCount > 0;
    case "FAVORITES":
      return !thread.isArchived && thread.isFavorite;
    case "MUTED":
      return !thread.isArchived && thread.isMuted;
    default:
      return !thread.isArchived;
  }
}

export function bySortKey(a: Edge, b: Edge): number {
  return a.node.sortKey < b.node.sortKey ? 1 : a.node.sortKey > b.node.sortKey ? -1 : 0;
}

export function placeThread(list: Connection, edge: Edge, status: ThreadStatusFilter | null | undefined,
                            updatesCursor: string): Connection {
  const others = list.edges.filter((item) => item.node.id !== edge.node.id);
  const known = others.length !== list.edges.length;
  const keep = belongs(edge.node, status);
  const edges = keep ? [...others, edge].sort(bySortKey) : others;
  const totalCount = list.totalCount + (keep && !known ? 1 : 0) - (!keep && known ? 1 : 0);
  // A thread that sorts after the last loaded item of a list with more pages belongs to a later page.
  const last = edges[edges.length - 1];
  const trimmed = list.pageInfo.hasNextPage && !known && last?.node.id === edge.node.id ? edges.slice(0, -1) : edges;
  return { ...list, edges: trimmed, totalCount, updatesCursor };
}
