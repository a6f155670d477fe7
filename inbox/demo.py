"""The built-in demo club (`inbox demo`): an import document for "Riverside Fitness".

Everything is generated from fixed seeds, so the same day always gives the same document (and
`inbox demo` is idempotent). Only session and message dates depend on `today`: a month of sessions
around it, and conversation history over the three weeks before it. Ids never depend on the day,
except sessions' (derived from their date and slot), so a demo loaded again on a later day adds that
day's new sessions and leaves everything else as it was.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from unidecode import unidecode

from inbox.actions import record_member_reply
from models import Club, Member
from models.engine import club_session

TIMEZONE = "Europe/London"
ZONE = ZoneInfo(TIMEZONE)
SEED = 20261125
MEMBER_COUNT = 300
CLUB_ADDRESS = {"street": "1 Riverside Walk", "postalCode": "SE1 9PX", "city": "London", "country": "GB"}

CLUB: dict[str, Any] = {
    "slug": "riverside",
    "name": "Riverside Fitness",
    "country": "GB",
    "timezone": TIMEZONE,
    "currency": "GBP",
    "backofficeUrl": "https://backoffice.example/riverside",
    "addons": ["inbox", "sms"],
    "smsNumber": "+447700900000",
    "inboundEmail": "riverside@inbox.example",
}

STAFF = [
    {"id": "s1", "name": "Léa Martin", "email": "lea@riverside.example"},
    {"id": "s2", "name": "Tom Baker", "email": "tom@riverside.example"},
    {"id": "s3", "name": "Aisha Khan", "email": "aisha@riverside.example"},
]

FIRST_NAMES = [
    "Zoë", "Łukasz", "Siobhán", "Björn", "José", "François", "Chloé", "Renée", "Søren", "Mário", "Ángel", "Anaïs",
    "Jürgen", "Małgorzata", "Noémie", "Raphaël", "Inès", "Eoghan", "Niamh", "Aoife", "Oisín", "Gráinne", "Jiří",
    "Amélie", "Ólafur", "Agnieszka", "Paweł", "Tomás", "Nuño", "Göran",
    "Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Noah", "Mia", "Jack", "Ivy", "Leo", "Freya", "Oscar",
    "Grace", "Arthur", "Sophia", "Muhammad", "Lily", "Charlie", "Emily", "Jacob", "Ella", "Thomas", "Poppy",
    "Henry", "Evie", "William", "Isabella", "James", "Daisy", "Priya", "Arjun", "Fatima", "Yusuf", "Mei", "Wei",
    "Kwame", "Amara", "Chidi", "Ngozi", "Hannah", "Samuel", "Ruth", "Daniel", "Sarah", "Rhys", "Megan", "Callum",
    "Eilidh", "Fraser", "Hamish", "Kirsty", "Dylan", "Cerys",
]
LAST_NAMES = [
    "O'Brien", "Müller", "Nowak", "Lefèvre", "García", "Østergaard", "Şahin", "Kowalczyk", "Dvořáková", "Fernández",
    "Gonçalves", "Ó Súilleabháin", "MacDonald", "D'Angelo", "Kovačević", "Lindqvist", "Peña", "Brontë", "Haßler",
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Thomas", "Clarke", "Jackson", "Wood",
    "Hughes", "Edwards", "Khan", "Ahmed", "Ali", "Singh", "Chen", "Wang", "Okafor", "Mensah", "Campbell", "Murphy",
    "Kelly", "Price", "Bennett", "Griffiths", "Lloyd", "Morgan", "Shaw", "Fletcher", "Baker", "Harris", "Lewis",
]
CITIES = [
    ("London", ["SE1 7PB", "N1 9GU", "E2 8AA", "SW9 8HE", "W2 1JB", "NW5 2HB", "SE16 4DG", "E14 5AB"]),
    ("London", ["SE11 5RR", "EC1V 4PW", "N16 0AH", "SW11 1NH"]),
    ("Manchester", ["M1 1AE", "M4 5JD", "M20 2RN"]),
    ("Bristol", ["BS1 4DJ", "BS8 1TH"]),
    ("Leeds", ["LS1 4AP", "LS6 2QA"]),
    ("Brighton", ["BN1 1AE", "BN2 9SB"]),
    ("Oxford", ["OX1 2JD", "OX4 1LB"]),
    ("Edinburgh", ["EH1 1YZ", "EH8 9YL"]),
    ("Cardiff", ["CF10 1EP"]),
    ("Birmingham", ["B1 1BB", "B15 2TT"]),
]
STREETS = ["High St", "Station Rd", "Church Lane", "Park Ave", "Victoria Rd", "Mill Lane", "Queen's Rd",
           "King St", "Riverside Walk", "Green Lane", "Albert Rd", "The Crescent"]
TAGS = ["premium", "student", "senior", "morning", "personal-training", "family", "corporate", "evening",
        "swimmer", "new"]
RELATIONSHIPS = ["partner", "parent", "sibling", "friend", "spouse", None]

TEACHERS = {
    "lea": {"name": "Léa Martin", "photoUrl": "https://cdn.example/riverside/teachers/lea.jpg"},
    "tom": {"name": "Tom Baker", "photoUrl": "https://cdn.example/riverside/teachers/tom.jpg"},
    "aisha": {"name": "Aisha Khan", "photoUrl": "https://cdn.example/riverside/teachers/aisha.jpg"},
    "joao": {"name": "João Ribeiro", "photoUrl": "https://cdn.example/riverside/teachers/joao.jpg"},
    "sinead": {"name": "Sinéad Walsh", "photoUrl": None},
}
ROOMS = {
    "studio1": {"name": "Studio 1", "address": CLUB_ADDRESS},
    "studio2": {"name": "Studio 2", "address": CLUB_ADDRESS},
    "spin": {"name": "Spin Room", "address": CLUB_ADDRESS},
    "pool": {"name": "Pool", "address": {"street": "3 Riverside Walk", "postalCode": "SE1 9PX", "city": "London",
                                         "country": "GB"}},
    "ring": {"name": "Boxing Ring", "address": CLUB_ADDRESS},
    "online": {"name": "Online (live stream)", "address": None},
}
# (slot time, class, minutes, teacher, room, capacity, level); the weekday picks which slots run.
SLOTS = [
    ("07:00", "Spin", 45, "tom", "spin", 20, "All levels"),
    ("07:30", "Yoga Flow", 60, "lea", "studio2", 24, "All levels"),
    ("09:30", "Pilates", 50, "sinead", "studio1", 12, "Beginners"),
    ("10:00", "Aqua Fit", 45, "aisha", "pool", 16, "All levels"),
    ("12:15", "HIIT", 30, "joao", "studio1", 18, "Intermediate"),
    ("12:30", "Yoga Flow", 45, "lea", "online", 30, "All levels"),
    ("17:30", "Boxing", 60, "joao", "ring", 10, "Intermediate"),
    ("18:00", "Spin", 45, "tom", "spin", 20, "Advanced"),
    ("18:30", "Pilates", 50, "sinead", "studio2", 12, "Intermediate"),
    ("19:00", "HIIT", 45, "aisha", "studio1", 18, "Advanced"),
    ("19:30", "Yin Yoga", 60, "lea", "studio2", 8, "All levels"),
]
# Which slots (indexes into SLOTS) run on each weekday (Monday = 0).
WEEKLY = {
    0: [0, 2, 4, 7, 9],
    1: [1, 3, 5, 6, 8],
    2: [0, 2, 4, 7, 9, 10],
    3: [1, 3, 5, 6, 8],
    4: [0, 4, 7, 9],
    5: [1, 2, 3, 6],
    6: [1, 3, 10],
}

OUTBOUND_EMAILS = [
    ("Welcome to Riverside Fitness", "Hi {first},\n\nWelcome to Riverside Fitness! Your membership is active. "
     "Book your first class from the app, and ask us anything here.\n\n{staff}"),
    ("Your membership renewal", "Hi {first},\n\nYour membership renews at the end of the month. Reply to this "
     "email if you would like to change your plan.\n\n{staff}"),
    ("About your invoice", "Hi {first},\n\nWe could not collect your last payment. Could you update your card in "
     "the app? Happy to help if anything is unclear.\n\n{staff}"),
    ("Personal training", "Hi {first},\n\nThanks for your interest in personal training. I have slots on Tuesday "
     "and Thursday evenings: which suits you?\n\n{staff}"),
    ("Locker found items", "Hi {first},\n\nWe found a water bottle and a towel with your name in the changing "
     "rooms. They are at reception.\n\n{staff}"),
]
OUTBOUND_SMS = [
    "Hi {first}, your Yoga Flow class starts at 18:00 tomorrow. See you there! - Riverside",
    "Hi {first}, reminder: your PT session is on Thursday at 7pm. Reply to reschedule. - {staff}",
    "Hi {first}, we missed you this week! Fancy a spin class on Saturday? - Riverside",
    "Hi {first}, your guest pass is ready at reception. - {staff}",
]
INBOUND_REPLIES = [
    "Thanks! See you then.",
    "Could I move it to next week please?",
    "Great, thank you 🙂",
    "I've updated my card, can you try again?",
    "Is the pool open on Sunday morning?",
    "Tuesday works for me.",
    "Sorry, I can't make it this time.",
    "Brilliant, I'll pick them up tomorrow.",
    "What time does the studio close on Friday?",
    "Merci beaucoup !",
]
STAFF_FOLLOW_UPS = [
    "No problem, it's done.",
    "Yes, 8am to 6pm on Sundays.",
    "Thanks, the payment went through.",
    "Perfect, I've booked you in.",
    "We close at 9pm on Fridays.",
]


def _ean13(twelve: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(twelve))
    return twelve + str((10 - total % 10) % 10)


def _iso(day: date, hhmm: str) -> str:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), ZONE).isoformat()


def _email_local(first: str, last: str) -> str:
    clean = "".join(c for c in unidecode(f"{first}.{last}").lower() if c.isalnum() or c == ".")
    return clean.strip(".")


def _phone(rng: random.Random, uk_phones: list[str]) -> str | None:
    """Mostly UK mobiles, a few French and US numbers, and some members without a phone."""
    roll = rng.random()
    if roll < 0.05:
        return f"+336{rng.randint(10_000_000, 99_999_999)}"  # French mobile
    if roll < 0.08:
        return f"+1202555{rng.randint(100, 199):04d}"  # US fictional range
    if roll < 0.15:
        return None
    return uk_phones.pop()


def _email(rng: random.Random, first: str, last: str, phone: str | None, used_emails: set[str]) -> str | None:
    """A unique address for most members (everyone without a phone has one)."""
    if not (rng.random() > 0.1 or phone is None):
        return None
    local = _email_local(first, last)
    email = f"{local}@example.com"
    suffix = 2
    while email in used_emails:
        email = f"{local}{suffix}@example.com"
        suffix += 1
    used_emails.add(email)
    return email


def _balance(rng: random.Random) -> tuple[Decimal, int]:
    """The account balance and unpaid invoices: some members owe money, some are in credit."""
    balance_roll = rng.random()
    if balance_roll < 0.15:
        return -Decimal(rng.randint(500, 15000)) / 100, rng.randint(1, 4)
    if balance_roll < 0.25:
        return Decimal(rng.randint(100, 5000)) / 100, 0
    return Decimal(0), 0


def _members() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    uk_phones = [f"+4477009{n:05d}" for n in range(2, 1998)]  # +447700900002 ... +447700901997
    rng.shuffle(uk_phones)
    members: list[dict[str, Any]] = [{
        "id": "m1", "memberNumber": "A-1001", "firstName": "Héloïse", "lastName": "Dupont",
        "email": "heloise@example.com", "phone": "+447700900001", "acceptsEmail": True, "acceptsSms": True,
        "registeredAt": "2024-03-01", "birthDate": "1990-04-12", "barcode": _ean13("200000001001"),
        "address": {"street": "1 High St", "postalCode": "N1 1AA", "city": "London", "country": "GB"},
        "emergencyContact": {"name": "Paul Dupont", "phone": "+447700901998", "relationship": "brother"},
        "tags": ["premium", "morning"], "accountBalance": "-12.50", "unpaidInvoicesCount": 1, "photoUrl": None,
        "documentsCount": 2, "notesCount": 1,
    }]
    used_emails = {"heloise@example.com"}
    for number in range(2, MEMBER_COUNT + 1):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        phone = _phone(rng, uk_phones)
        email = _email(rng, first, last, phone, used_emails)
        registered = date(2019, 1, 1) + timedelta(days=rng.randint(0, 2500))
        birth = date(1950, 1, 1) + timedelta(days=rng.randint(0, 20000))
        tags = sorted(rng.sample(TAGS, rng.choice([0, 0, 1, 1, 1, 2, 2, 3])))
        if (date(2026, 1, 1) - birth).days > 60 * 365 and "senior" not in tags and rng.random() < 0.7:
            tags.append("senior")
        balance, unpaid = _balance(rng)
        city, postcodes = rng.choice(CITIES)
        member: dict[str, Any] = {
            "id": f"m{number}",
            "memberNumber": f"A-{1000 + number}",
            "firstName": first,
            "lastName": last,
            "email": email,
            "phone": phone,
            "acceptsEmail": rng.random() > 0.05,
            "acceptsSms": rng.random() > 0.08,
            "registeredAt": registered.isoformat(),
            "birthDate": birth.isoformat() if rng.random() > 0.1 else None,
            "barcode": _ean13(f"2000000{number:05d}") if rng.random() > 0.05 else None,
            "address": {"street": f"{rng.randint(1, 220)} {rng.choice(STREETS)}", "postalCode": rng.choice(postcodes),
                        "city": city, "country": "GB"} if rng.random() > 0.1 else None,
            "emergencyContact": None,
            "tags": tags,
            "accountBalance": f"{balance:.2f}",
            "unpaidInvoicesCount": unpaid,
            "photoUrl": f"https://cdn.example/riverside/members/m{number}.jpg" if rng.random() < 0.3 else None,
            "documentsCount": rng.choice([0, 0, 1, 2, 3]),
            "notesCount": rng.choice([0, 0, 0, 1, 2]),
        }
        if rng.random() < 0.4:
            member["emergencyContact"] = {
                "name": f"{rng.choice(FIRST_NAMES)} {last}",
                "phone": uk_phones.pop(),
                "relationship": rng.choice(RELATIONSHIPS),
            }
        members.append(member)
    return members


SMARTLISTS: list[dict[str, Any]] = [
    {"id": "l1", "name": "Premium members", "description": "Everyone with the premium tag",
     "filters": [{"field": "TAG", "operator": "IN", "values": ["premium"]}]},
    {"id": "l2", "name": "Joined before 2025", "description": "Long-standing members",
     "filters": [{"field": "REGISTERED_AT", "operator": "LT", "values": ["2025-01-01"]}]},
    {"id": "l3", "name": "Owes money", "description": "Negative account balance",
     "filters": [{"field": "ACCOUNT_BALANCE", "operator": "LT", "values": ["0"]}]},
    {"id": "l4", "name": "Seniors (60+)", "description": None,
     "filters": [{"field": "AGE", "operator": "GTE", "values": ["60"]}]},
    {"id": "l5", "name": "Londoners", "description": "Members living in London",
     "filters": [{"field": "CITY", "operator": "EQ", "values": ["London"]}]},
    {"id": "l6", "name": "Reachable by SMS", "description": "Members with a phone number",
     "filters": [{"field": "HAS_PHONE", "operator": "IS_SET", "values": []}]},
    {"id": "l7", "name": "Morning students", "description": "Students who like early classes",
     "filters": [{"field": "TAG", "operator": "IN", "values": ["student"]},
                 {"field": "TAG", "operator": "EQ", "values": ["morning"]}]},
]


def _sessions(today: date, member_ids: list[str]) -> list[dict[str, Any]]:
    sessions = []
    for offset in range(-7, 25):
        day = today + timedelta(days=offset)
        for slot in WEEKLY[day.weekday()]:
            start, name, minutes, teacher, room, capacity, level = SLOTS[slot]
            session_id = f"c{day:%Y%m%d}-{start.replace(':', '')}-{room}"
            rng = random.Random(f"{SEED}-{session_id}")  # same session, same bookings, whatever today is
            demand = rng.randint(capacity // 3, capacity + 6)
            chosen = rng.sample(member_ids, min(demand, len(member_ids)))
            hour, minute = start.split(":")
            starts = datetime.combine(day, time(int(hour), int(minute)), ZONE)
            sessions.append({
                "id": session_id,
                "name": name,
                "startsAt": starts.isoformat(),
                "endsAt": (starts + timedelta(minutes=minutes)).isoformat(),
                "level": level,
                "isOnline": room == "online",
                "capacity": capacity,
                "teacher": TEACHERS[teacher],
                "room": ROOMS[room],
                "bookings": chosen[:capacity],
                "waitlist": chosen[capacity:],
            })
    return sessions


def _member_threads(today: date, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rng = random.Random(SEED + 1)
    start_of_today = datetime.combine(today, time(0, 0), ZONE)
    reachable = [m for m in members[1:] if m["email"] or m["phone"]]
    chosen = [members[0]] + rng.sample(reachable, 39)
    threads = []
    for number, member in enumerate(chosen, 1):
        staff = rng.choice(STAFF)
        staff_first = staff["name"].split()[0]
        days_ago = 2 if number == 1 else rng.randint(1, 21)
        at = datetime.combine(today - timedelta(days=days_ago), time(rng.randint(8, 17), rng.randint(0, 59)), ZONE)
        channel = "EMAIL" if member["email"] and (not member["phone"] or rng.random() < 0.6) else "SMS"
        subject, template = rng.choice(OUTBOUND_EMAILS)
        messages: list[dict[str, Any]] = []
        message: dict[str, str | None]
        for turn in range(rng.randint(1, 6)):
            if at >= start_of_today - timedelta(minutes=5):
                break
            inbound = turn % 2 == 1
            if channel == "EMAIL":
                if turn == 0:
                    message = {"subject": subject,
                               "body": template.format(first=member["firstName"], staff=staff_first)}
                elif inbound:
                    message = {"subject": f"Re: {subject}" if rng.random() < 0.7 else None,
                               "body": rng.choice(INBOUND_REPLIES)}
                else:
                    message = {"subject": None, "body": f"{rng.choice(STAFF_FOLLOW_UPS)}\n\n{staff_first}"}
            elif turn == 0:
                message = {"body": rng.choice(OUTBOUND_SMS).format(first=member["firstName"], staff=staff_first)}
            else:
                message = {"body": rng.choice(INBOUND_REPLIES) if inbound else rng.choice(STAFF_FOLLOW_UPS)}
            message.update({
                "id": f"h{number:03d}-{turn + 1}",
                "direction": "INBOUND" if inbound else "OUTBOUND",
                "channel": channel,
                "createdAt": at.isoformat(),
            })
            if not inbound:
                message["staff"] = staff["id"]
            messages.append(message)
            at += timedelta(minutes=rng.randint(5, 20 * 60))
            if not 7 <= at.hour < 22:  # people write in the daytime
                at += timedelta(hours=9)
        threads.append({"target": {"member": member["id"]}, "messages": messages})
    return threads


def _broadcast_threads(today: date, sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    yesterday = today - timedelta(days=1)
    threads: list[dict[str, Any]] = [
        {"target": {"smartlist": "l1"}, "messages": [{
            "id": "b-l1-1", "direction": "OUTBOUND", "channel": "EMAIL", "staff": "s1",
            "subject": "Premium members: free guest passes this month",
            "body": "Hello,\n\nAs a premium member you can bring a friend for free every Saturday this month. "
                    "Just tell reception.\n\nLéa, Riverside Fitness",
            "createdAt": _iso(today - timedelta(days=12), "10:15")}]},
        {"target": {"smartlist": "l3"}, "messages": [{
            "id": "b-l3-1", "direction": "OUTBOUND", "channel": "SMS", "staff": "s2",
            "body": "Hi, your Riverside account shows an unpaid balance. Please settle it in the app or at reception. "
                    "Thanks! - Tom",
            "createdAt": _iso(today - timedelta(days=6), "09:00")}]},
        {"target": {"smartlist": "l4"}, "messages": [{
            "id": "b-l4-1", "direction": "OUTBOUND", "channel": "EMAIL", "staff": "s3",
            "subject": "New: Aqua Fit for seniors",
            "body": "Hello,\n\nOur new gentle Aqua Fit class runs on Tuesday and Thursday mornings. "
                    "Book from the app.\n\nAisha",
            "createdAt": _iso(today - timedelta(days=3), "11:30")}]},
    ]
    tomorrow = datetime.combine(today + timedelta(days=1), time(0, 0), ZONE)
    upcoming = [s for s in sessions if datetime.fromisoformat(s["startsAt"]) >= tomorrow]
    first = upcoming[0]
    yoga = next(s for s in upcoming if s["name"] == "Yoga Flow" and s is not first)
    boxing = next(s for s in upcoming if s["name"] == "Boxing" and s is not first)
    for session, staff, text in (
        (first, "s2", "Reminder: {name} on {day} at {time}. Please arrive 5 minutes early."),
        (yoga, "s1", "Bring your own mat to {name} on {day} at {time}: the studio mats are being replaced."),
        (boxing, "s3", "{name} on {day} at {time}: gloves are available at reception."),
    ):
        starts = datetime.fromisoformat(session["startsAt"])
        threads.append({"target": {"session": session["id"]}, "messages": [{
            "id": f"b-{session['id']}", "direction": "OUTBOUND", "channel": "SMS", "staff": staff,
            "body": text.format(name=session["name"], day=f"{starts:%A}", time=f"{starts:%H:%M}"),
            "createdAt": _iso(yesterday, "16:00")}]})
    return threads


def demo_document(today: date | None = None) -> dict[str, Any]:
    """The demo club's import document; the same `today` always gives the same document."""
    if today is None:
        today = datetime.now(ZONE).date()
    members = _members()
    sessions = _sessions(today, [m["id"] for m in members])
    return {
        "club": dict(CLUB),
        "staff": [dict(s) for s in STAFF],
        "members": members,
        "sessions": sessions,
        "smartlists": [dict(s) for s in SMARTLISTS],
        "threads": _member_threads(today, members) + _broadcast_threads(today, sessions),
    }


FRESH_REPLIES = [
    ("m1", "SMS", "Running 10 minutes late for spin, sorry!"),
    ("m2", "EMAIL", "Could you send me the invoice for last month?"),
    ("m7", "SMS", "Is the pool open on Sunday?"),
    ("m12", "EMAIL", "I'd like to freeze my membership for two weeks."),
    ("m15", "SMS", "Thanks, see you Thursday!"),
]


async def add_fresh_replies(factory: async_sessionmaker[AsyncSession], today: date | None = None) -> int:
    """A few members' replies that arrive "now", so the demo has unread threads (imported history is
    read). Each has a provider id of the day: running the demo again the same day adds nothing."""
    day = (today or datetime.now(ZONE).date()).isoformat()
    added = 0
    async with factory() as session:
        club_id = await session.scalar(select(Club.id).where(Club.slug == CLUB["slug"]))
        members = dict((await session.execute(
            select(Member.external_id, Member.id).where(Member.club_id == club_id))).all())
    assert club_id is not None
    for number, (member, channel, body) in enumerate(FRESH_REPLIES):
        async with club_session(factory, club_id) as session:
            message = await record_member_reply(session, club_id, members[member], channel=channel, body=body,
                                                provider_message_id=f"demo-{day}-{number}")
        added += message is not None
    return added
