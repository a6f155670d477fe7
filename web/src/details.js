// The details pane: every field of the chat's target (member, smartlist or session) and its link.
import { html } from "./html.js";
import { calendarDate, dateTime, money, time } from "./format.js";

function Field({ label, children }) {
  return html`<dt>${label}</dt><dd>${children === null || children === undefined || children === ""
    ? html`<span class="none">—</span>` : children}</dd>`;
}

function address(a) {
  return a ? `${a.street}, ${a.postalCode} ${a.city}, ${a.country}` : null;
}

function svgImage(svg) {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

const FILTER_NAMES = {
  TAG: "tag", REGISTERED_AT: "registration date", AGE: "age", ACCOUNT_BALANCE: "account balance",
  UNPAID_INVOICES: "unpaid invoices", CITY: "city", HAS_EMAIL: "has email", HAS_PHONE: "has phone",
};

function MemberDetails({ member }) {
  const contact = member.emergencyContact;
  return html`<dl>
    <${Field} label="Phone">${member.phone && html`<a href=${`tel:${member.phone}`}>${member.phone}</a>`}<//>
    <${Field} label="Email">${member.email && html`<a href=${`mailto:${member.email}`}>${member.email}</a>`}<//>
    <${Field} label="Registered">${calendarDate(member.registeredAt)}<//>
    <${Field} label="Birth date">${calendarDate(member.birthDate)}<//>
    <${Field} label="Member number">${member.memberNumber}<//>
    <${Field} label="Barcode">${member.barcode && html`<span>${member.barcode}</span>${member.barcodeSvg
      && html`<img class="barcode" src=${svgImage(member.barcodeSvg)} alt=${`Barcode ${member.barcode}`} />`}`}<//>
    <${Field} label="Address">${address(member.address)}<//>
    <${Field} label="Emergency contact">${contact && `${contact.name}${contact.relationship
      ? ` (${contact.relationship})` : ""}, ${contact.phone}`}<//>
    <${Field} label="Tags">${member.tags.length ? html`<ul class="tags">${member.tags.map((t) => html`<li>${t}</li>`)}</ul>` : null}<//>
    <${Field} label="Balance"><span class=${Number(member.accountBalance.amount) < 0 ? "owes" : ""}>
      ${money(member.accountBalance)}</span><//>
    <${Field} label="Unpaid invoices">${String(member.unpaidInvoicesCount)}<//>
    <${Field} label="Documents">${String(member.documentsCount)}<//>
    <${Field} label="Notes">${String(member.notesCount)}<//>
  </dl>
  <a class="open" href=${member.profileUrl} target="_blank" rel="noopener">Open profile</a>`;
}

function SmartlistDetails({ smartlist }) {
  return html`<dl>
    <${Field} label="Members">${String(smartlist.memberCount)}<//>
    <${Field} label="Filters">${smartlist.filterTypes.map((f) => FILTER_NAMES[f] || f).join(", ") || "none (everyone)"}<//>
    <${Field} label="Description">${smartlist.description}<//>
  </dl>
  <a class="open" href=${smartlist.url} target="_blank" rel="noopener">Open smartlist</a>`;
}

function SessionDetails({ session, timeZone }) {
  const teacher = session.teacher;
  return html`<dl>
    <${Field} label="Bookings">${`${session.bookedCount} / ${session.capacity}`}<//>
    <${Field} label="Occupancy">${`${Math.round(session.occupancyRate * 100)}%`}<//>
    <${Field} label="Waitlist">${String(session.waitlistCount)}<//>
    <${Field} label="Level">${session.level}<//>
    <${Field} label="Online">${session.isOnline ? "Yes" : "No"}<//>
    <${Field} label="Date and time">${`${dateTime(session.startsAt, timeZone)} – ${time(session.endsAt, timeZone)}`}<//>
    <${Field} label="Teacher">${teacher && html`<span class="teacher">${teacher.photoUrl
      && html`<img src=${teacher.photoUrl} alt="" width="32" height="32"
        onError=${(e) => { e.currentTarget.hidden = true; }} />`}${teacher.name}</span>`}<//>
    <${Field} label="Room">${session.room && [session.room.name, address(session.room.address)].filter(Boolean).join(", ")}<//>
  </dl>
  <a class="open" href=${session.url} target="_blank" rel="noopener">Open session</a>`;
}

export function Details({ target, open, timeZone }) {
  let body = html`<p class="empty">Open a chat to see its details.</p>`;
  if (target && target.__typename === "Member") body = html`<${MemberDetails} member=${target} />`;
  if (target && target.__typename === "Smartlist") body = html`<${SmartlistDetails} smartlist=${target} />`;
  if (target && target.__typename === "Session") body = html`<${SessionDetails} session=${target} timeZone=${timeZone} />`;
  return html`<aside aria-label="Details" id="details" class="pane details-pane" hidden=${!open}>
    <h2>${target ? (target.fullName || target.name) : "Details"}</h2>
    ${body}
  </aside>`;
}
