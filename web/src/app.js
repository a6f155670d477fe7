// The page: sign-in, then the inbox's three panes and the state they share.
import { render } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { Api, SessionExpired, adoptTokenFromFragment, storeToken, storedToken } from "./api.js";
import { ChatList } from "./list.js";
import { Chat } from "./chat.js";
import { Details } from "./details.js";
import { NewChat } from "./pencil.js";
import { placeThread } from "./threads.js";
import * as Q from "./queries.js";

const NO_COUNTS = { members: 0, smartlists: 0, sessions: 0, total: 0 };
const EMPTY_LIST = { items: [], hasNextPage: false, endCursor: null, loading: true };
const ACTIONS = {
  unread: (thread) => [Q.MARK_UNREAD, "markThreadUnread", { threadId: thread.id }],
  favorite: (thread, value) => [Q.SET_FAVORITE, "setThreadFavorite", { threadId: thread.id, value }],
  mute: (thread, value) => [Q.SET_MUTED, "setThreadMuted", { threadId: thread.id, value }],
  archive: (thread, value) => [Q.SET_ARCHIVED, "setThreadArchived", { threadId: thread.id, value }],
};

function SignIn({ expired, onSignIn }) {
  const [token, setToken] = useState("");
  return html`<div class="sign-in">
    <h1>Inbox</h1>
    ${expired && html`<p role="alert" class="expired">Your session has expired</p>`}
    <form aria-label="Sign in" onSubmit=${(e) => { e.preventDefault(); if (token.trim()) onSignIn(token.trim()); }}>
      <label for="token">Token</label>
      <input id="token" type="password" autocomplete="off" value=${token} onInput=${(e) => setToken(e.currentTarget.value)} />
      <button type="submit">Sign in</button>
    </form>
  </div>`;
}

function Inbox({ onExpired }) {
  const api = useMemo(() => new Api(onExpired), []);
  const [boot, setBoot] = useState(null);
  const [error, setError] = useState(null);
  const [counts, setCounts] = useState(NO_COUNTS);
  const [category, setCategory] = useState("MEMBER");
  const [status, setStatus] = useState("ALL");
  const [search, setSearch] = useState("");
  const [list, setList] = useState(EMPTY_LIST);
  const [selected, setSelected] = useState(null);
  const [chat, setChat] = useState(null);
  const [deliveryChange, setDeliveryChange] = useState(null);
  const [detailsOpen, setDetailsOpen] = useState(true);
  const [pencil, setPencil] = useState(false);
  const filter = useRef({ status, search, hasNextPage: false });
  filter.current = { status, search, hasNextPage: list.hasNextPage };
  const selectedRef = useRef(null);
  selectedRef.current = selected;

  useEffect(() => () => api.close(), []);

  const place = useCallback((thread) => {
    setList((current) => ({ ...current, items: placeThread(current.items, thread, { ...filter.current,
      hasNextPage: current.hasNextPage }) }));
    if (selectedRef.current && selectedRef.current.id === thread.id) setSelected(thread);
  }, []);

  const onPayload = useCallback((payload) => {
    if (payload.thread) place(payload.thread);
    if (payload.unreadCounts) setCounts(payload.unreadCounts);
  }, []);

  useEffect(() => {
    const subscription = api.subscribe(Q.UNREAD_COUNTS, {}, setCounts);
    return () => subscription.dispose();
  }, []);

  // The list: one request for its first page (with the counts and the club on the first paint), then
  // its live updates from the cursor that request returned.
  useEffect(() => {
    let current = true;
    let subscription = null;
    setList((l) => ({ ...l, loading: true }));
    const variables = { category, status, search: search || null };
    const first = boot === null ? api.request(Q.INBOX, variables) : api.request(Q.THREADS, variables);
    first.then((data) => {
      if (!current) return;
      if (data.club) { setBoot({ club: data.club, viewer: data.viewer }); setCounts(data.unreadCounts); }
      const threads = data.threads;
      setList({ items: threads.edges.map((e) => e.node), hasNextPage: threads.pageInfo.hasNextPage,
        endCursor: threads.pageInfo.endCursor, loading: false });
      subscription = api.subscribe(Q.THREAD_UPDATED, { category, after: threads.updatesCursor }, (update, vars) => {
        vars.after = update.updatesCursor;
        place(update.thread);
        if (update.reason === "DELIVERY_CHANGED" && update.message) setDeliveryChange(update.message);
      });
    }).catch((e) => { if (!(e instanceof SessionExpired)) setError(e.message); });
    return () => { current = false; if (subscription) subscription.dispose(); };
  }, [category, status, search]);

  const listKey = useRef("");
  listKey.current = `${category}/${status}/${search}`;
  const more = async () => {
    if (!list.hasNextPage || list.loading) return;
    const key = listKey.current;
    setList((l) => ({ ...l, loading: true }));
    const data = await api.request(Q.THREADS, { category, status, search: search || null, after: list.endCursor });
    if (key !== listKey.current) return;  // the filter changed meanwhile: that page is of another list
    const page = data.threads;
    setList((l) => ({ items: [...l.items, ...page.edges.map((e) => e.node).filter((t) => !l.items.some((i) => i.id === t.id))],
      hasNextPage: page.pageInfo.hasNextPage, endCursor: page.pageInfo.endCursor, loading: false }));
  };

  const open = async (thread) => {
    setSelected(thread);
    const data = await api.request(Q.CHAT, { id: thread.id });
    const node = data.thread;
    setChat({ ...node, messages: node.messages.edges.map((e) => e.node), pageInfo: node.messages.pageInfo });
  };

  const act = async (thread, { action, value }) => {
    const [mutation, field, input] = ACTIONS[action](thread, value);
    const data = await api.request(mutation, { input });
    const payload = data[field];
    if (payload.userErrors.length) setError(payload.userErrors.map((e) => e.message).join("; "));
    onPayload(payload);
  };

  const start = async (target) => {
    setPencil(false);
    const data = await api.request(Q.START, { id: target.id });
    const payload = data.startThread;
    if (payload.userErrors.length) { setError(payload.userErrors.map((e) => e.message).join("; ")); return; }
    place(payload.thread);
    open(payload.thread);
  };

  if (!boot) return html`<p class="loading">${error || "Loading…"}</p>`;
  const timeZone = boot.club.timezone;
  return html`<div class=${`inbox ${detailsOpen ? "" : "no-details"}`}>
    <${ChatList} counts=${counts} category=${category} setCategory=${(c) => { if (c !== category) { setList(EMPTY_LIST); setCategory(c); setSearch(""); } }}
      status=${status} setStatus=${setStatus} search=${search} setSearch=${setSearch} list=${list} key=${category}
      selectedId=${selected && selected.id} timeZone=${timeZone} viewerId=${boot.viewer && boot.viewer.id} onOpen=${open} onAction=${act} onMore=${more}
      onNewChat=${() => setPencil(true)} />
    ${chat ? html`<${Chat} key=${chat.id} api=${api} chat=${chat} thread=${selected && selected.id === chat.id ? selected : null}
        club=${boot.club} viewer=${boot.viewer} deliveryChange=${deliveryChange} detailsOpen=${detailsOpen}
        toggleDetails=${() => setDetailsOpen(!detailsOpen)} onPayload=${onPayload} />`
      : html`<main class="pane chat-pane empty-chat" aria-label="Chat"><p>Choose a chat, or start one with “New chat”.</p>
        <button class="toggle-details" aria-expanded=${detailsOpen ? "true" : "false"} aria-controls="details"
          onClick=${() => setDetailsOpen(!detailsOpen)}>Details</button></main>`}
    <${Details} target=${chat && chat.target} open=${detailsOpen} timeZone=${timeZone} />
    ${error && html`<div role="alert" class="toast">${error} <button aria-label="Dismiss" onClick=${() => setError(null)}>×</button></div>`}
    ${pencil && html`<${NewChat} api=${api} category=${category} timeZone=${timeZone} onChoose=${start}
      onClose=${() => setPencil(false)} />`}
  </div>`;
}

function Page() {
  const [token, setToken] = useState(storedToken());
  const [expired, setExpired] = useState(false);
  const expire = useCallback(() => { storeToken(null); setExpired(true); setToken(null); }, []);
  if (!token) {
    return html`<${SignIn} expired=${expired} onSignIn=${(t) => { storeToken(t); setExpired(false); setToken(t); }} />`;
  }
  return html`<${Inbox} key=${token} onExpired=${expire} />`;
}

adoptTokenFromFragment();
render(html`<${Page} />`, document.getElementById("app"));
