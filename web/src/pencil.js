// The pencil's dialog: pick a member, a smartlist (or create one) or a session, then start its chat.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { dateTime, time, todayIn } from "./format.js";
import { CREATE_SMARTLIST, MEMBERS, PREVIEW, SESSION_DAYS, SESSIONS, SMARTLISTS } from "./queries.js";

/** Results of a query that follows what is typed (debounced; late answers to older text are dropped). */
function useSearch(api, query, text, pick) {
  const [results, setResults] = useState([]);
  useEffect(() => {
    let current = true;
    const timer = setTimeout(async () => {
      const data = await api.request(query, { search: text.trim() || null });
      if (current) setResults(pick(data));
    }, 200);
    return () => { current = false; clearTimeout(timer); };
  }, [text]);
  return results;
}

function Results({ label, items, onChoose, render }) {
  return html`<ul role="listbox" aria-label=${label} class="results">
    ${items.map((item) => html`<li role="option" aria-selected="false" tabindex="0" key=${item.id}
        aria-label=${item.label} onClick=${() => onChoose(item)}
        onKeyDown=${(e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onChoose(item); } }}>
      ${render(item)}</li>`)}
  </ul>`;
}

function MemberPicker({ api, onChoose }) {
  const [text, setText] = useState("");
  const members = useSearch(api, MEMBERS, text, (d) => d.members.edges.map((e) => ({ ...e.node, label: e.node.fullName })));
  return html`<input type="search" aria-label="Search members" placeholder="Name, email or phone" value=${text}
      onInput=${(e) => setText(e.currentTarget.value)} autofocus />
    <${Results} label="Results" items=${members} onChoose=${onChoose} render=${(m) => html`<strong>${m.fullName}</strong>
      <small>${[m.email, m.phone].filter(Boolean).join(" · ")}</small>`} />`;
}

const FIELDS = ["TAG", "CITY", "AGE", "REGISTERED_AT", "ACCOUNT_BALANCE", "UNPAID_INVOICES", "HAS_EMAIL", "HAS_PHONE"];
const OPERATORS = ["IN", "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IS_SET", "NOT_SET"];

function CreateSmartlist({ api, onCreated }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [filters, setFilters] = useState([{ field: "TAG", operator: "IN", values: "" }]);
  const [preview, setPreview] = useState(null);
  const [errors, setErrors] = useState([]);
  const inputs = filters.map((f) => ({ field: f.field, operator: f.operator,
    values: f.values.split(",").map((v) => v.trim()).filter(Boolean) }));
  const key = JSON.stringify(inputs);
  useEffect(() => {
    let current = true;
    const timer = setTimeout(async () => {
      const data = await api.request(PREVIEW, { filters: inputs });
      if (current) setPreview(data.smartlistPreview);
    }, 250);
    return () => { current = false; clearTimeout(timer); };
  }, [key]);
  const change = (index, patch) => setFilters(filters.map((f, i) => (i === index ? { ...f, ...patch } : f)));
  const submit = async (event) => {
    event.preventDefault();
    const data = await api.request(CREATE_SMARTLIST, { input: { name, description: description || null, filters: inputs } });
    const payload = data.createSmartlist;
    if (payload.userErrors.length) setErrors(payload.userErrors);
    else onCreated(payload.smartlist);
  };
  return html`<form aria-label="Create smartlist" class="create-smartlist" onSubmit=${submit}>
    <label>Name <input type="text" aria-label="Name" required value=${name} onInput=${(e) => setName(e.currentTarget.value)} /></label>
    <label>Description <input type="text" aria-label="Description" value=${description}
      onInput=${(e) => setDescription(e.currentTarget.value)} /></label>
    <fieldset><legend>Filters</legend>
      ${filters.map((f, i) => html`<div class="filter" key=${i}>
        <select aria-label=${`Filter ${i + 1} field`} value=${f.field} onChange=${(e) => change(i, { field: e.currentTarget.value })}>
          ${FIELDS.map((v) => html`<option value=${v}>${v.toLowerCase().replace("_", " ")}</option>`)}</select>
        <select aria-label=${`Filter ${i + 1} operator`} value=${f.operator}
          onChange=${(e) => change(i, { operator: e.currentTarget.value })}>
          ${OPERATORS.map((v) => html`<option value=${v}>${v}</option>`)}</select>
        <input type="text" aria-label=${`Filter ${i + 1} values`} placeholder="values, comma separated" value=${f.values}
          onInput=${(e) => change(i, { values: e.currentTarget.value })} />
        <button type="button" aria-label=${`Remove filter ${i + 1}`}
          onClick=${() => setFilters(filters.filter((_, j) => j !== i))}>×</button>
      </div>`)}
      <button type="button" onClick=${() => setFilters([...filters, { field: "TAG", operator: "IN", values: "" }])}>
        Add filter</button>
    </fieldset>
    <p class="preview-count" role="status" aria-label="Matching members">${preview === null ? "…"
      : preview.memberCount === null ? preview.userErrors.map((e) => e.message).join("; ")
        : `${preview.memberCount} member${preview.memberCount === 1 ? "" : "s"} match`}</p>
    ${errors.length > 0 && html`<ul role="alert" class="errors">${errors.map((e) => html`<li>${e.message}</li>`)}</ul>`}
    <button type="submit">Create smartlist</button>
  </form>`;
}

function SmartlistPicker({ api, onChoose }) {
  const [text, setText] = useState("");
  const [creating, setCreating] = useState(false);
  const lists = useSearch(api, SMARTLISTS, text, (d) => d.smartlists.edges.map((e) => ({ ...e.node, label: e.node.name })));
  return html`<input type="search" aria-label="Search smartlists" placeholder="Smartlist name" value=${text}
      onInput=${(e) => setText(e.currentTarget.value)} autofocus />
    <${Results} label="Results" items=${lists} onChoose=${onChoose} render=${(l) => html`<strong>${l.name}</strong>
      <small>${l.memberCount} members${l.description ? ` · ${l.description}` : ""}</small>`} />
    ${creating ? html`<${CreateSmartlist} api=${api} onCreated=${onChoose} />`
      : html`<button type="button" onClick=${() => setCreating(true)}>New smartlist…</button>`}`;
}

function monthDays(year, month) {
  const first = new Date(Date.UTC(year, month, 1));
  const days = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const iso = (d) => new Date(Date.UTC(year, month, d)).toISOString().slice(0, 10);
  return { offset: (first.getUTCDay() + 6) % 7, days: Array.from({ length: days }, (_, i) => iso(i + 1)) };
}

function SessionCalendar({ api, timeZone, onChoose }) {
  const today = todayIn(timeZone);
  const [month, setMonth] = useState(() => ({ year: Number(today.slice(0, 4)), month: Number(today.slice(5, 7)) - 1 }));
  const [counts, setCounts] = useState({});
  const [day, setDay] = useState(today);
  const [sessions, setSessions] = useState([]);
  const { offset, days } = monthDays(month.year, month.month);
  useEffect(() => {
    let current = true;  // an answer for a month or day no longer shown is dropped
    api.request(SESSION_DAYS, { from: days[0], to: days[days.length - 1] })
      .then((d) => current && setCounts(Object.fromEntries(d.sessionDays.map((s) => [s.date, s.count]))));
    return () => { current = false; };
  }, [month.year, month.month]);
  useEffect(() => {
    let current = true;
    const next = new Date(`${day}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    api.request(SESSIONS, { from: `${day}T00:00:00`, to: `${next.toISOString().slice(0, 10)}T00:00:00` })
      .then((d) => current && setSessions(d.sessions.edges.map((e) => ({ ...e.node,
        label: `${e.node.name}, ${time(e.node.startsAt, timeZone)}` }))));
    return () => { current = false; };
  }, [day]);
  const shift = (step) => setMonth(({ year, month: m }) => ({ year: year + Math.floor((m + step) / 12),
    month: (m + step + 12) % 12 }));
  const title = new Intl.DateTimeFormat("en-GB", { month: "long", year: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(month.year, month.month, 1)));
  return html`<div class="calendar">
    <div class="calendar-head">
      <button type="button" aria-label="Previous month" onClick=${() => shift(-1)}>‹</button>
      <h3>${title}</h3>
      <button type="button" aria-label="Next month" onClick=${() => shift(1)}>›</button>
    </div>
    <div class="month" role="group" aria-label=${title}>
      ${["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map((d) => html`<span class="weekday" aria-hidden="true">${d}</span>`)}
      ${Array.from({ length: offset }, () => html`<span></span>`)}
      ${days.map((d) => html`<button type="button" class=${`day ${d === day ? "chosen" : ""} ${counts[d] ? "busy" : ""}`}
          aria-pressed=${d === day ? "true" : "false"}
          aria-label=${`${Number(d.slice(8))} ${title}: ${counts[d] || 0} session${counts[d] === 1 ? "" : "s"}`}
          onClick=${() => setDay(d)}>
        <span>${Number(d.slice(8))}</span>${counts[d] ? html`<small>${counts[d]}</small>` : null}</button>`)}
    </div>
    <${Results} label="Results" items=${sessions} onChoose=${onChoose} render=${(s) => html`<strong>${s.name}</strong>
      <small>${dateTime(s.startsAt, timeZone)} · ${s.bookedCount}/${s.capacity}</small>`} />
  </div>`;
}

const TITLES = { MEMBER: "New chat with a member", SMARTLIST: "New chat with a smartlist", SESSION: "New chat with a session" };

export function NewChat({ api, category, timeZone, onChoose, onClose }) {
  const dialog = useRef(null);
  useEffect(() => {
    const previous = document.activeElement;
    dialog.current.showModal();
    return () => previous && previous.focus && previous.focus();
  }, []);
  return html`<dialog ref=${dialog} class="new-chat" aria-labelledby="new-chat-title"
      onClose=${onClose} onCancel=${onClose}>
    <header><h2 id="new-chat-title">${TITLES[category]}</h2>
      <button type="button" aria-label="Close" onClick=${() => dialog.current.close()}>×</button></header>
    ${category === "MEMBER" && html`<${MemberPicker} api=${api} onChoose=${onChoose} />`}
    ${category === "SMARTLIST" && html`<${SmartlistPicker} api=${api} onChoose=${onChoose} />`}
    ${category === "SESSION" && html`<${SessionCalendar} api=${api} timeZone=${timeZone} onChoose=${onChoose} />`}
  </dialog>`;
}
