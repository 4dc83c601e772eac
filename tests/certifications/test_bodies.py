"""standards.bodies: the bundled certification-body profiles, the YAML validator and the dict form."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import textwrap
from pathlib import Path

import pytest

import standards
from standards import (
    AuditProgrammeRules,
    CertificationBody,
    CertificationBodyError,
    SeverityGrade,
    StandardError,
    UnknownBodyError,
    UnknownGradeError,
    body_from_dict,
    body_to_dict,
    bundled_bodies,
    get_body,
    parse_bodies,
    validate_body_dict,
)
from standards.bodies import BUNDLED_FILE

ROOT = Path(__file__).resolve().parents[2]
BODIES_FILE = ROOT / "standards" / "data" / Path(*BUNDLED_FILE)

GOOD = textwrap.dedent(
    """\
    bodies:
      - code: acme-cert
        name: ACME Certification
        country: KE
        accreditation: [KENAS]
        marks: [ACME Mark]
        website: https://acme.example
        notes: A test body.
        programme:
          certificate_years: 3
          surveillance_interval_months: 12
          first_surveillance_max_months: 12
          recertification_lead_days: 90
          stage2_max_days_after_stage1: 180
          findings_response_days: 60
          reminder_days: [30, 90, 7]
        severity_scale:
          - {code: critical, label: Critical, nc_severity: major, response_days: 14, blocks_certification: true}
          - {code: category-1, label: Category 1, nc_severity: major, blocks_certification: true}
          - {code: category-2, label: Category 2, nc_severity: minor, blocks_certification: false}
          - {code: ofi, label: Opportunity for improvement, nc_severity: observation, blocks_certification: false}
    """
)


def bad(text: str) -> list[str]:
    with pytest.raises(CertificationBodyError) as caught:
        parse_bodies(textwrap.dedent(text), source="test.yaml")
    return caught.value.errors


def good_dict() -> dict:
    return body_to_dict(parse_bodies(GOOD)[0])


# --------------------------------------------------------------------------- bundled profiles


def test_every_bundled_body_is_valid_and_codes_are_unique():
    bodies = bundled_bodies()
    codes = [body.code for body in bodies]
    assert len(codes) == len(set(codes))
    expected = {"generic", "kebs", "sgs", "bsi", "bureau-veritas", "tuv-sud", "tuv-rheinland", "dnv", "intertek"}
    assert expected | {"lrqa"} <= set(codes)
    for body in bodies:
        assert validate_body_dict(body_to_dict(body)) == []
        assert body.major_codes, body.code
        assert all(grade.response_days for grade in body.severity_scale if grade.raises_nonconformity), body.code
        assert body.website is None or body.website.startswith("https://")
        assert body.country is None or re.fullmatch(r"[A-Z]{2}", body.country)
        assert body.programme.certificate_years == 3
        assert body.programme.first_surveillance_max_months <= 12


def test_bundled_bodies_are_loaded_once_and_returned_as_fresh_lists():
    first, second = bundled_bodies(), bundled_bodies()
    assert first == second and first is not second
    assert first[0] is second[0]


def test_kebs_profile():
    kebs = get_body("kebs")
    assert kebs.name == "Kenya Bureau of Standards"
    assert kebs.country == "KE"
    assert kebs.accreditation == ("KENAS",)
    assert kebs.programme.findings_response_days == 30
    assert [g.code for g in kebs.severity_scale] == ["major", "minor", "observation"]
    assert kebs.grade("major").response_days == 30 and kebs.grade("major").blocks_certification
    assert kebs.grade("observation").response_days is None
    assert "preliminary questionnaire" in kebs.notes
    assert "17065" in kebs.notes  # the marks are product marks, not QMS certificates


def test_sgs_profile():
    sgs = get_body("sgs")
    assert sgs.country == "CH"
    assert [(g.code, g.nc_severity) for g in sgs.severity_scale] == [
        ("major", "major"),
        ("minor", "minor"),
        ("ofi", "observation"),
    ]
    assert sgs.grade("ofi").label == "Opportunity for improvement"
    assert sgs.major_codes == ("major",)
    assert "pre-audit" in sgs.notes and "suspended" in sgs.notes


def test_norway_is_read_as_a_country_not_as_false():
    assert get_body("dnv").country == "NO"


def test_unconfirmed_profiles_say_so_in_the_file():
    text = BODIES_FILE.read_text(encoding="utf-8")
    entries = re.split(r"\n  - code: ", text)[1:]
    marked = {entry.split("\n", 1)[0] for entry in entries if "programme settings" in entry}
    assert {"generic", "kebs", "sgs", "bsi", "bureau-veritas", "tuv-sud", "tuv-rheinland", "dnv"} <= marked
    # ISO/IEC 17021-1 sets none of the day counts: nothing calls them the standard's defaults
    assert "17021-1 default" not in text


def test_get_body_unknown_is_a_key_error_naming_the_bundled_codes():
    with pytest.raises(KeyError) as caught:
        get_body("nope")
    assert isinstance(caught.value, UnknownBodyError)
    assert "'nope'" in str(caught.value) and "kebs" in str(caught.value)


def test_unknown_grade_is_a_key_error():
    with pytest.raises(UnknownGradeError, match="no grade 'category-9'"):
        get_body("sgs").grade("category-9")


def test_exported_from_the_package():
    for name in ("CertificationBody", "SeverityGrade", "AuditProgrammeRules", "get_body", "validate_body_dict"):
        assert name in standards.__all__


# --------------------------------------------------------------------------- parsing


def test_parse_a_body_with_its_own_scale():
    [body] = parse_bodies(GOOD)
    assert isinstance(body, CertificationBody)
    assert body.programme == AuditProgrammeRules(3, 12, 12, 90, 180, 60, (90, 30, 7))
    assert body.major_codes == ("critical", "category-1")
    assert body.grade("critical") == SeverityGrade("critical", "Critical", "major", 14, True)
    # omitted response_days: the programme default for NCs, no answer for an observation
    assert body.grade("category-1").response_days == 60
    assert body.grade("category-2").response_days == 60
    assert body.grade("ofi").response_days is None
    assert not body.grade("ofi").raises_nonconformity
    assert body.response_due("critical", dt.date(2026, 1, 20)) == dt.date(2026, 2, 3)
    assert body.response_due("ofi", dt.date(2026, 1, 20)) is None


def test_each_error_names_line_body_and_field():
    errors = bad(
        """\
        bodies:
          - code: acme
            name: ACME
            country: UK
            website: http://acme.example
            programme:
              certificate_years: 3
              surveillance_interval_months: 18
              first_surveillance_max_months: 12
              recertification_lead_days: 90
              stage2_max_days_after_stage1: 180
              findings_response_days: 90
              reminder_days: [30, 30, 0]
            severity_scale:
              - {code: major, label: Major, nc_severity: major, blocks_certification: true}
              - {code: minor, label: Minor, nc_severity: small, response_days: 400, blocks_certification: false}
              - {code: obs, label: Observation, nc_severity: observation, blocks_certification: true}
        """
    )
    assert errors == [
        "line 4: acme: country: 'UK' is not an ISO 3166 alpha-2 code: the United Kingdom is 'GB'",
        "line 5: acme: website: must be an https:// address such as 'https://www.kebs.org'",
        "line 8: acme: programme.surveillance_interval_months: must be a whole number from 1 to 12",
        "line 13: acme: programme.reminder_days[1]: repeats 30",
        "line 13: acme: programme.reminder_days[2]: must be a whole number from 1 to 365",
        "line 16: acme: severity_scale[1].nc_severity: must be one of: major, minor, observation",
        "line 16: acme: severity_scale[1].response_days: must be a whole number from 1 to 365",
        "line 17: acme: severity_scale[2].blocks_certification: an observation cannot block certification",
    ]


def test_errors_of_several_bodies_at_once_in_line_order():
    errors = bad(
        """\
        bodies:
          - code: Bad Code
            name: ""
            programme: {}
            severity_scale: []
          - code: two
            name: Two
            programme: 12
            severity_scale:
              - code: major
                label: Major
                nc_severity: major
                response_days: null
                blocks_certification: yes please
                colour: red
          - code: two
            name: Two again
            colour: blue
        """
    )
    assert "line 2: bodies[0]: code: must be lowercase letters and digits joined by '-', such as 'tuv-sud'" in errors
    assert "line 3: bodies[0]: name: must be a non-empty single line of at most 200 characters" in errors
    assert "line 4: bodies[0]: programme.certificate_years: required" in errors
    assert "line 5: bodies[0]: severity_scale: must be a non-empty list of grades" in errors
    assert any(e.startswith("line 8: two: programme: must be a mapping") for e in errors)
    assert "line 13: two: severity_scale[0].response_days: a nonconformity needs a response deadline" in errors
    assert "line 14: two: severity_scale[0].blocks_certification: must be true or false" in errors
    assert any(e.startswith("line 15: two: severity_scale[0].colour: unknown key") for e in errors)
    assert "line 16: two: code: repeats the code of line 6" in errors
    assert "line 16: two: programme: required" in errors  # a missing key: the line of its body
    assert "line 16: two: severity_scale: required" in errors
    assert any(e.startswith("line 18: two: colour: unknown key") for e in errors)
    lines = [int(re.match(r"line (\d+):", e).group(1)) for e in errors]
    assert lines == sorted(lines)


def test_unquoted_norway_gets_a_hint():
    text = GOOD.replace("country: KE", "country: NO")
    [error] = bad(text)
    assert error.startswith("line 4: acme-cert: country:") and "quoted" in error


def test_duplicate_keys_and_yaml_syntax_errors_name_the_line():
    [dup] = bad(GOOD.replace("    notes: A test body.\n", "    notes: A test body.\n    notes: Again.\n"))
    assert dup == "line 9: bodies[0].notes: duplicate key"
    [syntax] = bad("bodies:\n  - code: [unclosed\n")
    assert syntax.startswith("line ") and "invalid YAML" in syntax


def test_file_shape_errors():
    assert bad("- just a list\n") == ["a certification bodies file must be a mapping with the key 'bodies'"]
    assert bad("bodies: []\nextra: 1\n") == [
        "line 1: bodies: must be a non-empty list of certification bodies",
        "line 2: extra: unknown key (allowed: bodies, description, rules)",
    ]


def test_error_type_is_a_standard_error_and_names_the_source():
    with pytest.raises(StandardError) as caught:
        parse_bodies("bodies: []\n", source="mine.yaml")
    assert "invalid certification bodies mine.yaml" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_recertification_lead_must_be_shorter_than_the_certificate():
    data = good_dict()
    data["programme"].update(certificate_years=1, recertification_lead_days=365)
    assert validate_body_dict(data) == [
        "programme.recertification_lead_days: must be shorter than the certificate's validity"
    ]


# --------------------------------------------------------------------------- dict form (admin edits)


def test_round_trip_through_json():
    for body in [*bundled_bodies(), parse_bodies(GOOD)[0]]:
        stored = json.dumps(body_to_dict(body))
        assert body_from_dict(json.loads(stored)) == body


def test_dict_form_is_explicit():
    data = good_dict()
    assert set(data) == {
        "code",
        "name",
        "country",
        "accreditation",
        "marks",
        "website",
        "notes",
        "programme",
        "severity_scale",
        "rule_sources",
    }
    assert data["programme"]["reminder_days"] == [90, 30, 7]
    assert data["severity_scale"][1]["response_days"] == 60
    assert data["severity_scale"][3]["response_days"] is None


def test_validate_body_dict_messages_name_the_field():
    data = good_dict()
    data["severity_scale"][1]["response_days"] = 0
    data["severity_scale"][2]["response_days"] = True
    data["programme"]["first_surveillance_max_months"] = 13
    data["country"] = "ke"
    data["accreditation"] = ["KENAS", "KENAS", ""]
    data["marks"] = "ACME Mark"
    assert validate_body_dict(data) == [
        "country: must be an ISO 3166 alpha-2 code in capitals, such as 'KE' or 'GB'",
        "accreditation[1]: repeats 'KENAS'",
        "accreditation[2]: must be a non-empty single line of at most 100 characters",
        "marks: must be a list of names, not str",
        "programme.first_surveillance_max_months: must be a whole number from 1 to 12",
        "severity_scale[1].response_days: must be a whole number from 1 to 365",
        "severity_scale[2].response_days: must be a whole number from 1 to 365",
    ]


def test_validate_body_dict_missing_unknown_and_duplicate_grades():
    data = good_dict()
    del data["name"]
    del data["programme"]["reminder_days"]
    data["severity_scale"][1]["code"] = "critical"
    data["severity_scale"][2]["label"] = "critical"
    del data["severity_scale"][3]["blocks_certification"]
    data["rating"] = 5
    assert validate_body_dict(data) == [
        "name: required",
        "rating: unknown key (allowed: code, name, country, accreditation, marks, website, notes, programme, "
        "severity_scale, rule_sources)",
        "programme.reminder_days: required",
        "severity_scale[1].code: repeats the code of severity_scale[0]",
        "severity_scale[2].label: repeats the label of severity_scale[0]",
        "severity_scale[3].blocks_certification: required",
    ]


def test_validate_body_dict_rejects_non_mappings():
    assert validate_body_dict(["kebs"]) == [
        "a certification body must be a mapping with the keys code, name, programme, severity_scale"
    ]


def test_body_from_dict_refuses_invalid_data_and_does_not_touch_it():
    data = good_dict()
    data["severity_scale"][0]["nc_severity"] = "catastrophic"
    before = copy.deepcopy(data)
    with pytest.raises(CertificationBodyError) as caught:
        body_from_dict(data)
    assert caught.value.errors == ["severity_scale[0].nc_severity: must be one of: major, minor, observation"]
    assert data == before


def test_optional_fields_may_be_null_or_absent():
    data = good_dict()
    data.update(country=None, website=None)
    for key in ("accreditation", "marks", "notes"):
        del data[key]
    body = body_from_dict(data)
    assert (body.country, body.website, body.accreditation, body.marks, body.notes) == (None, None, (), (), "")
