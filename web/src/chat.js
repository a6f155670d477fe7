// The chat pane: the thread's history (older pages on scrolling up), live messages, and the composer.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { deliverySummary, listDate, time } from "./format.js";
import { MARK_READ, MESSAGE_ADDED, OLDER_MESSAGES, SEND } from "./queries.js";
import { Flags } from "./list.js";
import { randomKey } from "./threads.js";

/** Merge a message into the history: by id, or in place of the optimistic copy with its idempotency key. */
export function mergeMessage(messages, message) {
  if (messages.some((m) => m.id === message.id)) {
    return messages.map((m) => (m.id === message.id ? { ...m, ...message } : m));
  }
  const pending = message.idempotencyKey && messages.findIndex((m) => m.pending && m.idempotencyKey === message.idempotencyKey);
  if (pending !== undefined && pending !== null && pending >= 0) {
    return messages.map((m, i) => (i === pending ? message : m));
  }
  return [...messages, message];
}

function authorName(message, viewer) {
  const author = message.author;
  if (!author) return message.direction === "INBOUND" ? "Member" : "Staff";
  if (author.__typename === "Member") return author.fullName;
  return viewer && author.id === viewer.id ? "You" : author.name;
}

function Message({ message, viewer, timeZone }) {
  const outbound = message.direction === "OUTBOUND";
  return html`<li class=${`message ${outbound ? "outbound" : "inbound"} ${message.pending ? "pending" : ""}`}
      data-idempotency-key=${message.idempotencyKey || undefined}>
    <div class="meta"><span class="author">${authorName(message, viewer)}</span>
      <time datetime=${message.createdAt}>${listDate(message.createdAt, timeZone)}${
        listDate(message.createdAt, timeZone).includes(":") ? "" : `, ${time(message.createdAt, timeZone)}`}</time>
      <span class="channel">${message.channel === "SMS" ? "SMS" : "Email"}</span></div>
    ${message.subject && html`<div class="subject">${message.subject}</div>`}
    <div class="body">${message.body}</div>
    ${outbound && (message.pending || message.deliverySummary?.total > 0) && html`<div class="delivery">
      ${message.pending ? "Sending…" : deliverySummary(message.deliverySummary)}</div>`}
  </li>`;
}

function smsUnavailable(club, target) {
  if (!club.addons.includes("sms")) return "SMS needs the club's SMS add-on";
  if (target && target.__typename === "Member" && !target.phone) return "The member has no phone number";
  return null;
}

function Composer({ club, target, onSend }) {
  const noSms = smsUnavailable(club, target);
  const member = target && target.__typename === "Member" ? target : null;
  const initial = member && !member.email && !noSms ? "SMS" : "EMAIL";
  const [channel, setChannel] = useState(initial);
  const [subject, setSubject] = useState("");
  const [body, setBody] = useState("");
  const [waitlist, setWaitlist] = useState(false);
  const [errors, setErrors] = useState([]);
  useEffect(() => { setChannel(initial); setErrors([]); }, [target && target.id]);
  const submit = async (event) => {
    event.preventDefault();
    if (!body.trim()) { setErrors([{ message: "Write a message first" }]); return; }
    setErrors([]);
    const sent = { channel, body, subject: channel === "EMAIL" && subject ? subject : null,
      includeWaitlist: target && target.__typename === "Session" ? waitlist : false };
    setBody("");
    const problems = await onSend(sent);
    if (problems.length) { setErrors(problems); setBody(sent.body); }
  };
  return html`<form aria-label="Reply" class="composer" onSubmit=${submit}>
    <div class="composer-row">
      <label><span aria-hidden="true">Channel</span> <select aria-label="Channel" value=${channel} onChange=${(e) => setChannel(e.currentTarget.value)}
          aria-describedby=${noSms ? "sms-reason" : undefined}>
        <option value="EMAIL">Email</option>
        <option value="SMS" disabled=${Boolean(noSms)}>SMS</option>
      </select></label>
      ${noSms && html`<span id="sms-reason" class="hint">${noSms}</span>`}
      ${target && target.__typename === "Session" && html`<label class="check"><input type="checkbox"
        checked=${waitlist} onChange=${(e) => setWaitlist(e.currentTarget.checked)} /> Also the waitlist</label>`}
    </div>
    ${channel === "EMAIL" && html`<label class="wide"><span aria-hidden="true">Subject</span> <input type="text" aria-label="Subject" value=${subject}
      onInput=${(e) => setSubject(e.currentTarget.value)} /></label>`}
    <label class="wide"><span aria-hidden="true">Message</span> <textarea aria-label="Message" rows="3" value=${body} onInput=${(e) => setBody(e.currentTarget.value)}
      onKeyDown=${(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit(e); }}></textarea></label>
    <div class="composer-row"><button type="submit">Send</button>
      ${errors.length > 0 && html`<ul role="alert" class="errors">${errors.map((e) => html`<li>${e.message}</li>`)}</ul>`}
    </div>
  </form>`;
}

export function Chat({ api, chat, thread, club, viewer, deliveryChange, detailsOpen, toggleDetails, onPayload }) {
  const [messages, setMessages] = useState(chat.messages);
  const [page, setPage] = useState(chat.pageInfo);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const scroller = useRef(null);
  const anchor = useRef(null);
  const atBottom = useRef(true);
  const timeZone = club.timezone;

  useEffect(() => {
    const latest = chat.messages.length ? chat.messages[chat.messages.length - 1].cursor : chat.latestCursor;
    if (chat.unreadCount > 0 && chat.messages.length) {
      api.request(MARK_READ, { input: { threadId: chat.id, upTo: latest } }).then((d) => onPayload(d.markThreadRead));
    }
    const subscription = api.subscribe(MESSAGE_ADDED, { threadId: chat.id, after: latest }, (message, variables) => {
      variables.after = message.cursor;
      setMessages((list) => mergeMessage(list, message));
      if (message.direction === "INBOUND" && document.visibilityState === "visible") {
        api.request(MARK_READ, { input: { threadId: chat.id, upTo: message.cursor } })
          .then((d) => onPayload(d.markThreadRead));
      }
    });
    return () => subscription.dispose();
  }, [chat.id]);

  useEffect(() => {
    if (deliveryChange) setMessages((list) => (list.some((m) => m.id === deliveryChange.id)
      ? mergeMessage(list, deliveryChange) : list));
  }, [deliveryChange]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (anchor.current !== null) {
      el.scrollTop = el.scrollHeight - anchor.current;
      anchor.current = null;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages]);

  const loadOlder = async () => {
    if (!page.hasPreviousPage || loadingOlder) return;
    setLoadingOlder(true);
    try {
      const data = await api.request(OLDER_MESSAGES, { id: chat.id, before: page.startCursor });
      const older = data.thread.messages;
      anchor.current = scroller.current.scrollHeight - scroller.current.scrollTop;
      setMessages((list) => [...older.edges.map((e) => e.node).filter((m) => !list.some((n) => n.id === m.id)), ...list]);
      setPage(older.pageInfo);
    } finally {
      setLoadingOlder(false);
    }
  };

  const onScroll = () => {
    const el = scroller.current;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 60) loadOlder();
  };

  const send = async ({ channel, body, subject, includeWaitlist }) => {
    const key = randomKey();
    atBottom.current = true;
    const optimistic = { id: `pending:${key}`, pending: true, idempotencyKey: key, direction: "OUTBOUND", channel,
      subject, body, createdAt: new Date().toISOString(), author: viewer && { __typename: "Staff", ...viewer } };
    setMessages((list) => [...list, optimistic]);
    const drop = () => setMessages((list) => list.filter((m) => m.id !== optimistic.id));
    try {
      const data = await api.request(SEND, { input: { threadId: chat.id, channel, body, subject, includeWaitlist,
        idempotencyKey: key } });
      const payload = data.sendMessage;
      if (payload.userErrors.length) { drop(); return payload.userErrors; }
      setMessages((list) => mergeMessage(list, payload.message));
      onPayload(payload);
      return [];
    } catch (error) {
      drop();
      return [{ message: error.message }];
    }
  };

  const shown = thread || chat;
  return html`<main class="pane chat-pane" aria-labelledby="chat-title">
    <header class="chat-header">
      <h1 id="chat-title">${shown.title} <span class="flags"><${Flags} thread=${shown} /></span></h1>
      <button class="toggle-details" aria-expanded=${detailsOpen ? "true" : "false"} aria-controls="details"
        onClick=${toggleDetails}>Details</button>
    </header>
    <div class="history" ref=${scroller} onScroll=${onScroll}>
      ${page.hasPreviousPage && html`<button class="older" onClick=${loadOlder}>
        ${loadingOlder ? "Loading…" : "Older messages"}</button>`}
      <ol aria-label="Messages" class="messages">
        ${messages.map((m) => html`<${Message} key=${m.id} message=${m} viewer=${viewer} timeZone=${timeZone} />`)}
      </ol>
      ${messages.length === 0 && html`<p class="empty">No message yet: write the first one.</p>`}
    </div>
    <${Composer} club=${club} target=${chat.target} onSend=${send} />
  </main>`;
}
