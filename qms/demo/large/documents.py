"""The large organisation's documents and their revisions (with files and extracted text)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from standards import cycle as cycles

from ...database import db
from .common import HISTORY_DAYS, _at, _SeederBase, _spread

_DOC_TYPES = (
    ("procedure", 30),
    ("work_instruction", 35),
    ("form", 18),
    ("record", 6),
    ("policy", 2),
    ("manual", 1),
    ("external", 8),
)
_DOC_SUBJECTS = (
    "Control of nonconforming output",
    "Calibration of measuring equipment",
    "Incoming inspection",
    "Supplier evaluation",
    "Handling customer complaints",
    "Internal audit",
    "Management review",
    "Training and competence",
    "Control of documented information",
    "Design review",
    "Preventive maintenance",
    "Order review",
    "Product identification and traceability",
    "Packaging and dispatch",
    "Corrective action",
    "Risk assessment",
    "Change control",
    "Final inspection",
    "Customer property",
    "Monitoring customer satisfaction",
)
_DOC_CLAUSES = ("8.7", "7.1.5", "8.4", "8.4.1", "9.1.2", "9.2", "9.3", "7.2", "7.5", "8.3.4", "7.1.3")


def _label(index: int) -> str:
    """A, B, … Z, AA … for the 1-based ``index`` (as ``add_revision`` labels revisions)."""
    label = ""
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(65 + rest) + label
    return label


def _add_months(day: dt.date, months: int) -> dt.date:
    return cycles.add_months(day, months)


class _DocumentPhases(_SeederBase):
    """Documents of every type with their revision histories."""

    def documents(self, target: int, revision_target: int) -> None:
        from ...services.attachments import store_file
        from ...services.documents import numbering_pattern, process_code
        from ...services.text_extraction import extract_text

        rng = self.rng
        session = db.session()
        files = []
        for subject in _DOC_SUBJECTS:
            for variant in range(3):
                body = (
                    f"{subject}\n\n1 Purpose\nThis document describes how we carry out {subject.lower()}.\n"
                    f"2 Scope\nAll sites and processes of the organisation (issue {variant + 1}).\n"
                    "3 Responsibilities\nThe process owner maintains this document; the quality officer "
                    "checks that it is followed.\n4 Method\nPlan the work, record the results on the form, "
                    "review them monthly and raise a nonconformity when a requirement is not met.\n"
                    "5 Records\nKept for three years in the document system.\n"
                )
                data = body.encode()
                stored = store_file(io.BytesIO(data), f"{subject.lower().replace(' ', '-')}-{variant + 1}.txt")
                files.append((stored, extract_text(data, stored.content_type)))
        patterns = {doc_type: numbering_pattern(session, doc_type) for doc_type, _ in _DOC_TYPES}
        per_doc = max(1.0, revision_target / target)
        authors = self.people.by_role["process_owner"] + self.people.by_role["quality_officer"]
        approvers = self.people.by_role["quality_officer"] + self.people.by_role["manager"]
        doc_types = _spread(rng, target, _DOC_TYPES)
        report_every = max(1, target // 5)
        for index, doc_type in enumerate(doc_types):
            process = rng.choice(self.processes)
            subject = rng.choice(_DOC_SUBJECTS)
            pattern = patterns[doc_type]
            created_day = self.start + dt.timedelta(days=rng.randrange(0, HISTORY_DAYS - 20))
            values = {"process": process_code(process["name"]), "year": created_day.year}
            prefix = pattern.split("{seq", 1)[0].format(**values)
            self.counters[f"DOC:{prefix}"] += 1
            number = pattern.format(seq=self.counters[f"DOC:{prefix}"], **values)
            document_id = self.w.new_id("documents")
            owner = process["owner_id"]
            period = rng.choice((12, 24, 24, 36))
            document = {
                "id": document_id,
                "number": number,
                "title": f"{subject} — {process['short']}"[:200],
                "doc_type": doc_type,
                "owner_id": owner,
                "process": process["name"],
                "clause_refs": [rng.choice(_DOC_CLAUSES)],
                "review_period_months": period,
                "confidentiality": rng.choice(("internal", "internal", "internal", "public", "confidential")),
                "next_review_due": None,
                "created_at": _at(created_day, rng),
                "created_by_id": owner,
                "obsolete": False,
            }
            planned = max(1, min(2 * round(per_doc) - 1, round(rng.triangular(1, 2 * per_doc - 1, per_doc))))
            gap = (self.today - created_day).days / planned
            obsolete = rng.random() < 0.02
            revisions: list[tuple[dict[str, Any], list]] = []
            t = document["created_at"]
            current: tuple[dict[str, Any], list] | None = None
            for number_of in range(1, planned + 1):
                if t > self.now:
                    break
                stored, body = rng.choice(files)
                author = rng.choice(authors)
                approver = rng.choice([a for a in approvers if a != author])
                revision = {
                    "id": self.w.new_id("document_revisions"),
                    "document_id": document_id,
                    "label": _label(number_of),
                    "change_summary": "First issue." if number_of == 1 else "Updated after review.",
                    "author_id": author,
                    "filename": stored.filename,
                    "content_type": stored.content_type,
                    "size": stored.size,
                    "sha256": stored.sha256,
                    "extracted_text": body,
                    "approved_by_id": None,
                    "approved_at": None,
                    "effective_date": None,
                    "superseded_at": None,
                    "retired_reason": "",
                    "review_comments": [],
                    "lifecycle_version": self.lifecycles["document"].version,
                    "created_at": t,
                }
                events = []
                submit = t + dt.timedelta(days=rng.uniform(1, 10))
                events.append(("submit_for_review", submit, author, {"change_summary": revision["change_summary"]}))
                if rng.random() < 0.1:
                    back = submit + dt.timedelta(days=rng.uniform(1, 5))
                    comments = "Please add the records to keep."
                    events.append(("request_changes", back, approver, {"comments": comments}))
                    submit = back + dt.timedelta(days=rng.uniform(1, 5))
                    events.append(("submit_for_review", submit, author, {"change_summary": revision["change_summary"]}))
                approved = submit + dt.timedelta(days=rng.uniform(1, 7))
                events.append(("approve", approved, approver, {}))
                effective = approved + dt.timedelta(days=rng.uniform(0, 14))
                events.append(("make_effective", effective, approver, {"effective_date": effective.date()}))
                events = self.past(events)
                for name, at, actor, data in events:
                    if name == "request_changes":
                        revision["review_comments"] = [
                            {"by": self.people.names[actor], "at": at.isoformat(), "comments": data["comments"]}
                        ]
                    elif name == "approve":
                        revision.update(approved_by_id=actor, approved_at=at)
                    elif name == "make_effective":
                        revision["effective_date"] = data["effective_date"]
                        if current is not None:  # the one in force is superseded in the same transaction
                            old, old_events = current
                            old_events.append(("supersede", at, actor, {"superseded_by": revision["label"]}))
                            old["superseded_at"] = at
                        document["next_review_due"] = _add_months(data["effective_date"], period)
                        current = (revision, events)
                revisions.append((revision, events))
                if not events or events[-1][0] != "make_effective":
                    break  # still in work: nothing comes after it yet
                t = max(effective + dt.timedelta(days=1), document["created_at"] + dt.timedelta(days=gap * number_of))
            if current is not None:
                revision, events = current
                due = document["next_review_due"]
                last = events[-1][1]
                ending = last + dt.timedelta(days=rng.uniform(30, 300))
                if obsolete and ending <= self.now and current[0] is revisions[-1][0]:
                    reason = "Process discontinued."
                    events.append(("make_obsolete", ending, rng.choice(approvers), {"reason": reason}))
                    revision.update(retired_reason=reason, superseded_at=ending)
                    document.update(obsolete=True, next_review_due=None)
                elif current[0] is revisions[-1][0] and due < self.today - dt.timedelta(days=30) and rng.random() < 0.5:
                    events.append(("mark_review_due", _at(due, rng), rng.choice(approvers), {}))
            self.w.add("documents", document)
            for revision, events in revisions:
                revision["state"] = self.history("document", revision["id"], events) if events else "draft"
                revision["version"] = 1 + len(events)
                revision["updated_at"] = events[-1][1] if events else revision["created_at"]
                self.w.add("document_revisions", revision)
            if (index + 1) % report_every == 0:
                self.progress(f"  documents: {index + 1:,} of {target:,}")
        self.w.flush("document_revisions")
