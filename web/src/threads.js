// The list's rules on the client: which thread a filter shows, and where a live update puts it.
import { fold } from "./format.js";

export const CATEGORIES = [
  { value: "MEMBER", label: "Members", count: "members" },
  { value: "SMARTLIST", label: "Smartlists", count: "smartlists" },
  { value: "SESSION", label: "Sessions", count: "sessions" },
];

export const STATUSES = [
  { value: "ALL", label: "All" },
  { value: "UNREAD", label: "Unread" },
  { value: "FAVORITES", label: "Favorites" },
  { value: "MUTED", label: "Muted" },
  { value: "ARCHIVED", label: "Archived" },
];

export function matchesStatus(thread, status) {
  if (status === "ARCHIVED") return thread.isArchived;
  if (thread.isArchived) return false;
  if (status === "UNREAD") return thread.unreadCount > 0;
  if (status === "FAVORITES") return thread.isFavorite;
  if (status === "MUTED") return thread.isMuted;
  return true;
}

/** The title alone can be checked here (the server also searches members' email and phone). */
function matchesSearchByTitle(thread, search) {
  const title = fold(thread.title);
  return fold(search).split(/\s+/).filter(Boolean).every((word) => title.includes(word));
}

/**
 * The list after a thread changed: out of it when the filter no longer shows it, else at its sortKey's
 * place (greater first); left out when that place is beyond the pages loaded so far.
 */
export function placeThread(items, thread, { status, search, hasNextPage }) {
  const known = items.some((t) => t.id === thread.id);
  const rest = items.filter((t) => t.id !== thread.id);
  if (!matchesStatus(thread, status)) return rest;
  if (search && !known && !matchesSearchByTitle(thread, search)) return items;
  let index = rest.findIndex((t) => t.sortKey < thread.sortKey);
  if (index === -1) {
    if (hasNextPage) return rest;
    index = rest.length;
  }
  rest.splice(index, 0, thread);
  return rest;
}

/** The "…" menu: exactly the actions available on this thread, with their labels. */
export function availableActions(thread) {
  const actions = [];
  if (thread.unreadCount === 0 && thread.lastMessage) actions.push({ label: "Mark as unread", action: "unread" });
  actions.push(thread.isFavorite ? { label: "Remove from favorites", action: "favorite", value: false }
    : { label: "Add to favorites", action: "favorite", value: true });
  actions.push(thread.isMuted ? { label: "Reactivate", action: "mute", value: false }
    : { label: "Mute", action: "mute", value: true });
  actions.push(thread.isArchived ? { label: "Restore", action: "archive", value: false }
    : { label: "Archive", action: "archive", value: true });
  return actions;
}

export function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
