"""The large organisation's users, sites and processes."""

from __future__ import annotations

import datetime as dt

from ..users import DEMO_PASSWORD, DEMO_USERS
from .common import HISTORY_DAYS, STANDARD, _at, _SeederBase

# --------------------------------------------------------------------------- names and texts

_FIRST = (
    "Amani",
    "Baraka",
    "Chiku",
    "Daudi",
    "Esther",
    "Faith",
    "Grace",
    "Hassan",
    "Imani",
    "Joseph",
    "Kamau",
    "Lina",
    "Mwangi",
    "Njeri",
    "Otieno",
    "Pendo",
    "Rehema",
    "Salim",
    "Tumaini",
    "Wanjiru",
    "Yusuf",
    "Zawadi",
    "Abdi",
    "Beatrice",
    "Collins",
    "Dorcas",
    "Edwin",
    "Fatuma",
    "Gideon",
    "Halima",
    "Irene",
    "James",
    "Kevin",
    "Lucy",
    "Mercy",
    "Nelson",
    "Oscar",
    "Priscilla",
    "Ruth",
    "Samuel",
    "Teresa",
    "Victor",
    "Winnie",
    "Aisha",
    "Brian",
    "Caroline",
)
_LAST = (
    "Achieng",
    "Bett",
    "Cheruiyot",
    "Dlamini",
    "Eze",
    "Farah",
    "Gitau",
    "Haile",
    "Ibrahim",
    "Jama",
    "Kariuki",
    "Langat",
    "Mensah",
    "Nkosi",
    "Odhiambo",
    "Pretorius",
    "Quaye",
    "Rotich",
    "Said",
    "Tesfaye",
    "Uwimana",
    "Vilakazi",
    "Wekesa",
    "Yeboah",
    "Zulu",
    "Adeyemi",
    "Banda",
    "Chege",
    "Diallo",
    "Essien",
)
_SITES = (
    ("Nairobi plant", "NBO"),
    ("Mombasa depot", "MBA"),
    ("Kampala branch", "KLA"),
    ("Dar es Salaam plant", "DAR"),
    ("Kigali office", "KGL"),
    ("Addis Ababa plant", "ADD"),
    ("Lusaka depot", "LUN"),
    ("Accra plant", "ACC"),
    ("Lagos plant", "LOS"),
    ("Johannesburg plant", "JNB"),
    ("Cairo office", "CAI"),
    ("Casablanca plant", "CAS"),
    ("Dakar depot", "DKR"),
    ("Abidjan plant", "ABJ"),
    ("Kinshasa depot", "FIH"),
    ("Maputo depot", "MPM"),
    ("Windhoek office", "WDH"),
    ("Gaborone office", "GBE"),
    ("Harare plant", "HRE"),
    ("Kisumu depot", "KIS"),
)
#: name, code, risk, clauses (ISO 9001:2015) addressed
_PROCESSES = (
    ("Production", "PROD", "high", ["7.1", "8.5", "8.6", "8.7"]),
    ("Purchasing", "PUR", "medium", ["8.4"]),
    ("Sales and customer service", "SAL", "medium", ["8.2", "9.1"]),
    ("Quality management", "QM", "low", ["4.4", "6.1", "7.5", "9.2", "9.3", "10.2"]),
    ("Human resources", "HR", "low", ["7.1", "7.2", "7.3"]),
    ("Design and development", "DES", "high", ["8.3"]),
    ("Warehousing and dispatch", "WH", "medium", ["8.5.4", "8.5.5", "8.7"]),
    ("Maintenance", "MNT", "medium", ["7.1.3", "7.1.4", "7.1.5"]),
    ("Inspection and testing", "QC", "high", ["8.6", "8.7", "7.1.5"]),
    ("Leadership and planning", "LEAD", "low", ["5", "6.2", "6.3"]),
    ("Customer complaints", "CC", "medium", ["9.1.2", "10.2", "8.2.1"]),
    ("Document control", "DOC", "low", ["7.5"]),
)


class _OrganisationPhases(_SeederBase):
    """The users (the demo users first), then the sites and their processes."""

    def users(self) -> None:
        from ...services.users import hash_password

        password_hash = hash_password(DEMO_PASSWORD)  # once: Argon2 is slow on purpose
        total = max(self.n("users", 20), len(DEMO_USERS) + 12)
        extra = total - len(DEMO_USERS)
        share = (("process_owner", 30), ("internal_auditor", 12), ("quality_officer", 6), ("manager", 5))
        roles: list[str] = []
        for role, percent in share:
            roles += [role] * max(2, extra * percent // 100)
        roles += ["admin"]
        roles += ["viewer"] * max(1, extra - len(roles))
        roles = roles[:extra]
        rows = [(email, name, list(r)) for email, name, r in DEMO_USERS]
        used: set[str] = set()
        for index, role in enumerate(roles):
            first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
            email = f"{first}.{last}".lower()
            if email in used:
                email = f"{email}{index}"
            used.add(email)
            rows.append((f"{email}@example.com", f"{first} {last}", [role]))
        for index, (email, name, user_roles) in enumerate(rows):
            user_id = self.w.new_id("users")
            created = self.start - dt.timedelta(days=30) if index < len(DEMO_USERS) else None
            if created is None:
                created = self.start + dt.timedelta(days=self.rng.randrange(0, HISTORY_DAYS // 2))
            inactive = user_roles == ["viewer"] and index % 25 == 0
            self.w.add(
                "users",
                {
                    "id": user_id,
                    "email": email,
                    "name": name,
                    "password_hash": password_hash,
                    "active": not inactive,
                    "created_at": _at(created, self.rng),
                },
            )
            for role in user_roles:
                self.w.add("user_roles", {"user_id": user_id, "role": role})
                if not inactive:
                    self.people.by_role[role].append(user_id)
            self.people.names[user_id] = name
            if index < len(DEMO_USERS):
                self.people.demo[email.split("@")[0]] = user_id
        self.w.flush("user_roles")

    def sites_and_processes(self) -> None:
        from ...services.standards import find_standard

        n_sites = max(2, round(len(_SITES) * min(1.0, self.factor * 20)))
        n_per_site = len(_PROCESSES) if self.factor >= 0.05 else 4
        standard = find_standard(STANDARD)
        from ...services.audits import checklist_questions

        general = checklist_questions(standard, [])
        for name, code in _SITES[:n_sites]:
            site_id = self.w.new_id("sites")
            self.sites.append((site_id, name, code))
            self.w.add("sites", {"id": site_id, "name": name, "code": code, "address": f"{name}, head office road"})
            for pname, pcode, risk, clauses in _PROCESSES[:n_per_site]:
                process_id = self.w.new_id("processes")
                owner = self.pick("process_owner")
                own = checklist_questions(standard, clauses)
                seen = {q for _, _, q in own}
                pool = own + [row for row in general if row[2] not in seen]
                self.processes.append(
                    {
                        "id": process_id,
                        "name": f"{pname} — {name}",
                        "short": pname,
                        "code": f"{pcode}-{code}",
                        "site_id": site_id,
                        "site": name,
                        "owner_id": owner,
                        "risk": risk,
                        "clauses": clauses,
                        "questions": pool,
                    }
                )
                self.w.add(
                    "processes",
                    {
                        "id": process_id,
                        "name": f"{pname} — {name}",
                        "code": f"{pcode}-{code}",
                        "description": f"The {pname.lower()} process at the {name}.",
                        "site_id": site_id,
                        "owner_id": owner,
                        "risk": risk,
                        "clause_numbers": clauses,
                    },
                )
        self.w.flush("processes")
