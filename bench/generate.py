"""The benchmark club as an import document (docs/import.md), with conversation history.

Deterministic: the same seed, scale and anchor always give the same document. Every date is relative to
the anchor (a run passes the start of today, UTC), so history always ends just before the run.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from unidecode import unidecode

from bench.scales import Scale

CLUB_SLUG = "bench-club"
NEWSLETTER_TAG = "newsletter"
NEWSLETTER_SMARTLIST = "l1"
# Member threads get this share of the messages; smartlist and session threads (broadcasts) the rest.
MEMBER_MESSAGE_SHARE = 0.92

CLUB = {
    "slug": CLUB_SLUG, "name": "Forme & Bien-être Lyon", "country": "FR", "timezone": "Europe/Paris",
    "currency": "EUR", "backofficeUrl": "https://backoffice.example/bench-club", "addons": ["inbox", "sms"],
    "smsNumber": "+33700000001", "inboundEmail": "bench-club@inbox.example",
}
FIRST_NAMES = [
    "Héloïse", "Jean-François", "Zoë", "Łukasz", "Chloé", "Anaïs", "Raphaël", "Inès", "Noémie", "Amélie",
    "François", "Gaëlle", "Mégane", "Jérôme", "Hélène", "Benoît", "Clément", "Élodie", "Maëlys", "Loïc", "Cécile",
    "Thérèse", "Agnès", "Léa", "Siobhán", "Björn", "José", "Søren", "Jürgen", "Małgorzata", "Ólafur", "Jiří",
    "Paweł", "Nuño", "Göran", "Ángel", "Camille", "Lucas", "Emma", "Louis", "Jade", "Hugo", "Louise", "Arthur",
    "Alice", "Jules", "Lina", "Adam", "Rose", "Gabriel", "Manon", "Nathan", "Sarah", "Thomas", "Juliette", "Paul",
    "Yasmine", "Mohamed", "Fatima", "Karim", "Nadia", "Mei", "Wei", "Kwame", "Amara", "Priya", "Arjun", "Olivia",
]
LAST_NAMES = [
    "Dupont", "Müller", "Nowak", "Lefèvre", "García", "Østergaard", "Şahin", "Kowalczyk", "Dvořáková", "Fernández",
    "Gonçalves", "O'Brien", "D'Angelo", "Kovačević", "Lindqvist", "Peña", "Haßler", "Brontë", "Martin", "Bernard",
    "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent", "Simon", "Michel", "Lefebvre",
    "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Rousseau", "Vincent", "Muller",
    "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand",
    "Gauthier", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier",
    "Masson", "Marchand", "Duval", "Denis", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun", "Blanchard",
    "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud", "Martínez", "Benali",
    "Haddad", "Nguyen", "Tran", "Le Goff", "Le Gall", "Ben Youssef", "Da Silva", "Van der Berg", "De la Cruz",
]
CITIES = [
    ("Lyon", ["69001", "69002", "69003", "69006", "69007"]), ("Villeurbanne", ["69100"]),
    ("Caluire-et-Cuire", ["69300"]), ("Écully", ["69130"]), ("Vénissieux", ["69200"]), ("Bron", ["69500"]),
    ("Saint-Étienne", ["42000"]), ("Paris", ["75011", "75015"]), ("Grenoble", ["38000"]), ("Mâcon", ["71000"]),
]
STREETS = ["rue de la République", "avenue Jean Jaurès", "cours Lafayette", "rue Mercière", "quai Saint-Antoine",
           "rue des Écoles", "place Bellecour", "boulevard des Brotteaux", "montée de la Grande-Côte"]
TAGS = ["premium", "student", "senior", "morning", "coaching", "family", "corporate", "evening", "swimmer", "new",
        "vip", "off-peak"]
EMAIL_DOMAINS = ["example.com", "example.fr", "example.org", "example.net"]
RELATIONSHIPS = ["conjoint", "parent", "frère", "sœur", "ami", None]
CLASSES = [
    ("Yoga Flow", 60, "Tous niveaux", 24), ("Body Pump", 45, "Intermédiaire", 30), ("Spinning", 45, "Avancé", 20),
    ("Pilates", 50, "Débutant", 12), ("Aquagym", 45, "Tous niveaux", 16), ("Boxe française", 60, "Intermédiaire", 10),
    ("Zumba", 60, "Tous niveaux", 30), ("HIIT", 30, "Avancé", 18), ("Stretching", 45, "Débutant", 20),
    ("Cross-training", 60, "Avancé", 14), ("Yin Yoga", 75, "Tous niveaux", 8), ("Natation adultes", 45, None, 12),
]
TEACHERS = [("Léa Martin", "https://cdn.example/bench/lea.jpg"), ("Théo Garnier", None),
            ("Aïcha Benali", "https://cdn.example/bench/aicha.jpg"), ("João Ribeiro", None), ("Sinéad Walsh", None)]
ROOMS = ["Studio 1", "Studio 2", "Salle cardio", "Bassin", "Ring", "En ligne"]
SUBJECTS = ["Bienvenue au club !", "Renouvellement de votre abonnement", "Votre facture", "Coaching personnalisé",
            "Objets trouvés", "Changement de planning", "Your membership renewal", "Horaires d'été"]
SENTENCES = [
    "Merci pour votre message.", "Votre abonnement se renouvelle à la fin du mois.",
    "Vous pouvez réserver vos cours directement depuis l'application.",
    "Nous n'avons pas pu prélever votre dernière mensualité.", "Le bassin sera fermé lundi pour entretien.",
    "N'hésitez pas à passer à l'accueil si vous avez la moindre question.",
    "Your guest pass is ready at reception.", "Les cours de Yoga Flow reprennent la semaine prochaine.",
    "Pensez à apporter votre serviette et une bouteille d'eau.", "Le parking est gratuit pour les membres après 18 h.",
    "Nous avons retrouvé une gourde à votre nom dans les vestiaires.", "Bonne séance et à très vite au club !",
]
SMS_TEXTS = ["Rappel : votre cours commence demain à 18 h. À demain !", "Votre badge est prêt à l'accueil.",
             "Séance de coaching confirmée jeudi 19 h.", "Vous nous manquez ! Un cours de spinning samedi ?",
             "Reminder: your PT session is on Thursday at 7pm."]
REPLIES = ["Merci !", "Merci beaucoup, à bientôt 🙂", "Est-ce que je peux décaler à la semaine prochaine ?",
           "Le bassin est-il ouvert dimanche matin ?", "J'ai mis à jour ma carte, vous pouvez réessayer ?",
           "Thanks! See you then.", "Désolée, je ne pourrai pas venir cette fois.", "Parfait, c'est noté 👍",
           "Quelle heure ferme la salle le vendredi ?", "Could I move it to next week please?",
           "Bonjour, je voudrais résilier mon abonnement. Comment faire ?", "Super, je passe demain."]


def _ean13(twelve: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(twelve))
    return twelve + str((10 - total % 10) % 10)


def _email_local(first: str, last: str) -> str:
    clean = "".join(c for c in unidecode(f"{first}.{last}").lower() if c.isalnum() or c == ".")
    return clean.strip(".")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _spread(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` counts of at least 1, long-tailed like real conversations."""
    if parts == 0:
        return []
    weights = [rng.lognormvariate(0.0, 1.1) for _ in range(parts)]
    scale = max(total - parts, 0) / sum(weights)
    counts = [1 + math.floor(w * scale) for w in weights]
    for index in rng.sample(range(parts), min(parts, max(0, total - sum(counts)))):
        counts[index] += 1
    return counts


class _Generator:
    def __init__(self, scale: Scale, seed: int, anchor: datetime) -> None:
        self.scale = scale
        self.rng = random.Random(seed)
        self.anchor = anchor
        self.staff = [{"id": f"s{n}", "name": f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}",
                       "email": f"staff{n}@bench-club.example"} for n in range(1, scale.staff + 1)]
        self.message_number = 0

    def members(self) -> list[dict[str, Any]]:
        rng, count = self.rng, self.scale.members
        newsletter = set(rng.sample(range(count), min(count, self.scale.broadcast_members)))
        phones = rng.sample(range(10_000_000, 100_000_000), count * 2)
        members = []
        for n in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            has_email, has_phone = rng.random() < 0.9, rng.random() < 0.85
            tags = rng.sample(TAGS, rng.choice([0, 0, 1, 1, 1, 2, 2, 3]))
            if n in newsletter:
                tags.append(NEWSLETTER_TAG)
            city, postcodes = rng.choice(CITIES)
            member: dict[str, Any] = {
                "id": f"m{n + 1}", "memberNumber": f"A-{100_000 + n}", "firstName": first, "lastName": last,
                "email": f"{_email_local(first, last)}{n}@{rng.choice(EMAIL_DOMAINS)}" if has_email else None,
                # French mobiles; a few written in national form, as a platform would send them.
                "phone": (f"+33{rng.choice('67')}{phones[n]:08d}" if rng.random() < 0.8
                          else f"0{rng.choice('67')} {phones[n]:08d}") if has_phone or not has_email else None,
                "acceptsEmail": rng.random() > 0.04, "acceptsSms": rng.random() > 0.08,
                "registeredAt": (self.anchor.date() - timedelta(days=rng.randint(1, 8 * 365))).isoformat(),
                "birthDate": (date(1945, 1, 1) + timedelta(days=rng.randint(0, 62 * 365))).isoformat()
                if rng.random() < 0.75 else None,
                "barcode": _ean13(f"2{n:011d}") if rng.random() < 0.9 else None,
                "address": {"street": f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
                            "postalCode": rng.choice(postcodes), "city": city, "country": "FR"}
                if rng.random() < 0.8 else None,
                "tags": tags,
                "accountBalance": f"{-rng.randint(500, 20_000) / 100:.2f}" if rng.random() < 0.12 else "0",
                "unpaidInvoicesCount": rng.choice([0, 0, 0, 0, 1, 2]),
                "photoUrl": f"https://cdn.example/bench/members/{n + 1}.jpg" if rng.random() < 0.3 else None,
                "documentsCount": rng.choice([0, 0, 1, 2, 3]), "notesCount": rng.choice([0, 0, 0, 1, 4]),
            }
            if rng.random() < 0.3:
                member["emergencyContact"] = {"name": f"{rng.choice(FIRST_NAMES)} {last}",
                                              "phone": f"+33{rng.choice('67')}{phones[count + n]:08d}",
                                              "relationship": rng.choice(RELATIONSHIPS)}
            members.append(member)
        return members

    def sessions(self, member_ids: list[str]) -> list[dict[str, Any]]:
        rng, sessions = self.rng, []
        days = max(1, self.scale.sessions // 12)
        start_day = self.anchor - timedelta(days=days // 2)
        for n in range(self.scale.sessions):
            name, minutes, level, capacity = rng.choice(CLASSES)
            starts = start_day + timedelta(days=n % days, hours=rng.choice([7, 9, 10, 12, 17, 18, 19, 20]),
                                           minutes=rng.choice([0, 15, 30]))
            chosen = rng.sample(member_ids, min(len(member_ids), rng.randint(capacity // 3, capacity + 5)))
            teacher, photo = rng.choice(TEACHERS)
            room = rng.choice(ROOMS)
            sessions.append({
                "id": f"c{n + 1}", "name": name, "startsAt": _iso(starts),
                "endsAt": _iso(starts + timedelta(minutes=minutes)), "level": level, "isOnline": room == "En ligne",
                "capacity": capacity, "teacher": {"name": teacher, "photoUrl": photo},
                "room": {"name": room, "address": None if room == "En ligne" else {
                    "street": "12 rue Garibaldi", "postalCode": "69006", "city": "Lyon", "country": "FR"}},
                "bookings": chosen[:capacity], "waitlist": chosen[capacity:],
            })
        return sessions

    def smartlists(self) -> list[dict[str, Any]]:
        rng = self.rng
        templates: list[tuple[str, list[dict[str, Any]]]] = [
            ("Premium", [{"field": "TAG", "operator": "IN", "values": ["premium", "vip"]}]),
            ("Étudiants", [{"field": "TAG", "operator": "EQ", "values": ["student"]}]),
            ("Impayés", [{"field": "ACCOUNT_BALANCE", "operator": "LT", "values": ["0"]},
                         {"field": "UNPAID_INVOICES", "operator": "GTE", "values": ["1"]}]),
            ("Seniors", [{"field": "AGE", "operator": "GTE", "values": ["65"]}]),
            ("Joignables par SMS", [{"field": "HAS_PHONE", "operator": "IS_SET", "values": []}]),
            ("Nouveaux inscrits", [{"field": "REGISTERED_AT", "operator": "GTE",
                                    "values": [(self.anchor.date() - timedelta(days=90)).isoformat()]}]),
            ("Sans tag", [{"field": "TAG", "operator": "NOT_SET", "values": []}]),
            ("25-35 ans", [{"field": "AGE", "operator": "BETWEEN", "values": ["25", "35"]}]),
        ]
        smartlists = [{"id": NEWSLETTER_SMARTLIST, "name": "Newsletter", "description": "Members who asked for it",
                       "filters": [{"field": "TAG", "operator": "IN", "values": [NEWSLETTER_TAG]}]}]
        for n in range(2, self.scale.smartlists + 1):
            name, filters = templates[n % len(templates)]
            city = rng.choice(CITIES)[0]
            smartlists.append({
                "id": f"l{n}", "name": f"{name} — {city} #{n}", "description": rng.choice([None, f"{name} à {city}"]),
                "filters": [*filters, {"field": "CITY", "operator": "IN", "values": [city]}] if n % 3 else filters,
            })
        return smartlists

    def _times(self, count: int) -> list[datetime]:
        """Message times of one thread: recent threads are the most common, history ends before the anchor."""
        last = self.anchor - timedelta(minutes=5 + self.rng.expovariate(1 / (40 * 24 * 60)))
        span = timedelta(days=self.rng.uniform(0.1, 200))
        return sorted(last - span * self.rng.random() for _ in range(count - 1)) + [last]

    def _message(self, direction: str, channel: str, created_at: datetime, member: dict[str, Any] | None,
                 first: bool) -> dict[str, Any]:
        rng = self.rng
        self.message_number += 1
        message: dict[str, Any] = {"id": f"x{self.message_number}", "direction": direction, "channel": channel,
                                   "createdAt": _iso(created_at)}
        if direction == "INBOUND":
            message["body"] = rng.choice(REPLIES)
            return message
        message["staff"] = rng.choice(self.staff)["id"]
        if channel == "SMS":
            message["body"] = rng.choice(SMS_TEXTS)
            return message
        greeting = f"Bonjour {member['firstName']}," if member else "Bonjour à toutes et à tous,"
        paragraphs = [" ".join(rng.sample(SENTENCES, rng.randint(1, 4))) for _ in range(rng.randint(1, 3))]
        message["body"] = "\n\n".join([greeting, *paragraphs, "L'équipe Forme & Bien-être"])
        if first or rng.random() < 0.3:
            message["subject"] = rng.choice(SUBJECTS)
        return message

    def member_thread(self, member: dict[str, Any], count: int) -> dict[str, Any]:
        rng = self.rng
        channels = [c for c, field in (("EMAIL", "email"), ("SMS", "phone")) if member[field]]
        messages = []
        for index, at in enumerate(self._times(count)):
            inbound = rng.random() < (0.3 if index == 0 else 0.45)
            messages.append(self._message("INBOUND" if inbound else "OUTBOUND", rng.choice(channels), at, member,
                                          index == 0))
        return {"target": {"member": member["id"]}, "messages": messages}

    def broadcast_thread(self, kind: str, target: str, count: int) -> dict[str, Any]:
        channel = self.rng.choice(["EMAIL", "EMAIL", "SMS"])
        messages = [self._message("OUTBOUND", channel, at, None, index == 0)
                    for index, at in enumerate(self._times(count))]
        return {"target": {kind: target}, "messages": messages}

    def threads(self, members: list[dict[str, Any]], smartlists: list[dict[str, Any]],
                sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        scale, rng = self.scale, self.rng
        member_messages = round(scale.messages * MEMBER_MESSAGE_SHARE)
        talking = rng.sample(members, min(len(members), scale.member_threads))
        threads = [self.member_thread(m, n) for m, n in zip(talking, _spread(member_messages, len(talking), rng),
                                                              strict=True)]
        targets = [("smartlist", s["id"]) for s in smartlists[:scale.smartlist_threads]]
        targets += [("session", s["id"]) for s in rng.sample(sessions, min(len(sessions), scale.session_threads))]
        counts = _spread(scale.messages - member_messages, len(targets), rng)
        threads += [self.broadcast_thread(kind, target, n) for (kind, target), n in zip(targets, counts, strict=True)]
        return threads


def generate_document(scale: Scale, *, seed: int, anchor: datetime) -> dict[str, Any]:
    """The import document of the benchmark club (anchor: an aware date-time; history ends before it)."""
    generator = _Generator(scale, seed, anchor.astimezone(UTC))
    members = generator.members()
    sessions = generator.sessions([m["id"] for m in members])
    smartlists = generator.smartlists()
    return {
        "club": dict(CLUB),
        "staff": generator.staff,
        "members": members,
        "sessions": sessions,
        "smartlists": smartlists,
        "threads": generator.threads(members, smartlists, sessions),
    }


def document_rows(document: dict[str, Any]) -> dict[str, int]:
    """Rows the document describes, per kind (bookings and tags count as rows: the importer writes them)."""
    return {
        "members": len(document["members"]),
        "member tags": sum(len(m["tags"]) for m in document["members"]),
        "sessions": len(document["sessions"]),
        "bookings": sum(len(s["bookings"]) + len(s["waitlist"]) for s in document["sessions"]),
        "smartlists": len(document["smartlists"]),
        "threads": len(document["threads"]),
        "messages": sum(len(t["messages"]) for t in document["threads"]),
    }
