// The chat list pane: categories, status, search, the pencil, and the threads with their "…" menus.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { listDate } from "./format.js";
import { CATEGORIES, STATUSES, availableActions } from "./threads.js";

function Badge({ count, muted }) {
  if (!count) return null;
  return html`<span class=${`badge ${muted ? "grey" : "red"}`} aria-label=${`${count} unread`}>${count}</span>`;
}

function Flags({ thread }) {
  return html`${thread.isFavorite && html`<span role="img" aria-label="Favorite">⭐</span>`}${
    thread.isMuted && html`<span role="img" aria-label="Muted">🔕</span>`}`;
}

export { Flags };

function ActionsMenu({ thread, onAction, onClose, returnFocus }) {
  const menu = useRef(null);
  useLayoutEffect(() => {  // before the browser paints it: a key pressed at once reaches the menu
    menu.current.querySelector("[role=menuitem]").focus();
    const away = (event) => { if (!menu.current.parentElement.contains(event.target)) onClose(); };
    // Escape closes it even when focus left it (a live update can move the thread, and its menu, in the list).
    const escape = (event) => { if (event.key === "Escape") { onClose(); returnFocus(); } };
    document.addEventListener("pointerdown", away);
    document.addEventListener("keydown", escape);
    return () => { document.removeEventListener("pointerdown", away); document.removeEventListener("keydown", escape); };
  }, []);
  const keydown = (event) => {
    const items = [...menu.current.querySelectorAll("[role=menuitem]")];
    const at = items.indexOf(document.activeElement);
    if (event.key === "ArrowDown") { items[(at + 1) % items.length].focus(); event.preventDefault(); }
    else if (event.key === "ArrowUp") { items[(at - 1 + items.length) % items.length].focus(); event.preventDefault(); }
  };
  return html`<ul role="menu" class="menu" ref=${menu} aria-label=${`Actions for ${thread.title}`}
      onKeyDown=${keydown}>
    ${availableActions(thread).map((item) => html`<li role="none" key=${item.label}>
      <button role="menuitem" tabindex="-1" onClick=${() => { onClose(); returnFocus(); onAction(thread, item); }}>
        ${item.label}</button></li>`)}
  </ul>`;
}

function previewAuthor(message, viewerId) {
  const author = message.author;
  if (message.direction !== "OUTBOUND" || !author || author.__typename !== "Staff") return "";
  return author.id === viewerId ? "You: " : `${author.name.split(" ")[0]}: `;
}

function ThreadItem({ thread, selected, timeZone, viewerId, onOpen, onAction }) {
  const [menuOpen, setMenuOpen] = useState(false);
  const button = useRef(null);
  const last = thread.lastMessage;
  return html`<li class=${`thread ${selected ? "selected" : ""} ${thread.unreadCount ? "unread" : ""}`}
      data-thread-id=${thread.id}>
    <div class="thread-top">
      <button class="title" aria-current=${selected ? "true" : undefined} onClick=${() => onOpen(thread)}>
        ${thread.title}</button>
      <span class="flags"><${Flags} thread=${thread} /></span>
      <time datetime=${thread.activityAt || ""}>${listDate(thread.activityAt, timeZone)}</time>
    </div>
    <div class="thread-bottom">
      <span class="preview">${last ? `${previewAuthor(last, viewerId)}${last.preview}` : "No message yet"}</span>
      <${Badge} count=${thread.unreadCount} muted=${thread.isMuted} />
      <span class="actions">
        <button class="more" ref=${button} aria-label=${`Actions for ${thread.title}`} aria-haspopup="menu"
          aria-expanded=${menuOpen ? "true" : "false"} onClick=${() => setMenuOpen(!menuOpen)}>…</button>
        ${menuOpen && html`<${ActionsMenu} thread=${thread} onAction=${onAction} onClose=${() => setMenuOpen(false)}
          returnFocus=${() => button.current && button.current.focus()} />`}
      </span>
    </div>
  </li>`;
}

export function ChatList({ counts, category, setCategory, status, setStatus, search, setSearch, list, selectedId,
  timeZone, viewerId, onOpen, onAction, onMore, onNewChat }) {
  const sentinel = useRef(null);
  const scroller = useRef(null);
  const [text, setText] = useState(search);
  useEffect(() => {
    const timer = setTimeout(() => setSearch(text.trim()), 250);
    return () => clearTimeout(timer);
  }, [text]);
  useEffect(() => {
    if (!sentinel.current) return undefined;
    const observer = new IntersectionObserver((entries) => entries[0].isIntersecting && onMore(),
      { root: scroller.current, rootMargin: "200px" });
    observer.observe(sentinel.current);
    return () => observer.disconnect();
  }, [list.hasNextPage, list.endCursor, list.loading]);
  const tabKey = (event) => {
    const at = CATEGORIES.findIndex((c) => c.value === category);
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = CATEGORIES[(at + step + CATEGORIES.length) % CATEGORIES.length];
    setCategory(next.value);
    event.currentTarget.parentElement.querySelector(`[data-category=${next.value}]`).focus();
  };
  return html`<nav aria-label="Chats" class="pane list-pane">
    <div role="tablist" aria-label="Categories" class="tabs">
      ${CATEGORIES.map((c) => html`<button role="tab" key=${c.value} data-category=${c.value}
          aria-selected=${category === c.value ? "true" : "false"} tabindex=${category === c.value ? "0" : "-1"}
          onClick=${() => setCategory(c.value)} onKeyDown=${tabKey}>
        ${c.label}${" "}<span class="badge red count" aria-label=${`${counts[c.count]} unread`}
          hidden=${!counts[c.count]}>${counts[c.count]}</span></button>`)}
    </div>
    <div class="tools">
      <label class="status"><span aria-hidden="true">Status</span>
        <select aria-label="Status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
          ${STATUSES.map((s) => html`<option value=${s.value}>${s.label}</option>`)}
        </select></label>
      <button class="pencil" onClick=${onNewChat} aria-haspopup="dialog" aria-label="New chat">
        <span aria-hidden="true">✏️</span> New chat</button>
    </div>
    <input type="search" class="search" aria-label="Search" placeholder="Search" value=${text}
      onInput=${(e) => setText(e.currentTarget.value)} />
    <div class="scroller" ref=${scroller}>
      <ul aria-label="Threads" role="list" class="threads">
        ${list.items.map((thread) => html`<${ThreadItem} key=${thread.id} thread=${thread}
            selected=${thread.id === selectedId} timeZone=${timeZone} viewerId=${viewerId} onOpen=${onOpen} onAction=${onAction} />`)}
      </ul>
      ${list.hasNextPage && html`<div ref=${sentinel} class="more-threads">Loading…</div>`}
      ${!list.loading && list.items.length === 0 && html`<p class="empty">No chats here.</p>`}
    </div>
  </nav>`;
}
