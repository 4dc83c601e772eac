"""Event forms know field kinds, not features: a grouped field is read by its declared groups."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from qms.lifecycles.nonconformity import FISHBONE_CATEGORIES
from qms.web.events import data_from_form
from workflows import Event, Field, get_lifecycle

PARTS = Field("parts", "Parts", "json", required=False, groups=(("front", "Front"), ("back", "Back")))
FITTING = Event("fit", "Fit", ("open",), "done", frozenset({"manager"}), fields=(PARTS,))


def test_a_grouped_field_is_read_one_box_per_group():
    form = MultiDict({"parts-front": " hinge \n\n handle ", "parts-back": "  ", "parts-side": "ignored"})

    assert data_from_form(FITTING, form) == {"parts": {"front": ["hinge", "handle"]}}


def test_a_grouped_field_left_blank_is_left_out():
    assert data_from_form(FITTING, MultiDict({"parts-front": "\n"})) == {}


def test_the_fishbone_categories_belong_to_the_field_definition():
    fishbone = next(f for f in get_lifecycle("nonconformity").event("analyse_root_cause").fields if f.groups)

    assert fishbone.name == "fishbone" and fishbone.kind == "json"
    assert [name for name, _label in fishbone.groups] == list(FISHBONE_CATEGORIES)
    assert fishbone.groups[0] == ("man", "Man causes")
