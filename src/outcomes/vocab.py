"""Every code list of the product, in one place: tables, instruments and analysis import them.

Kernel module: imports nothing of ours. The database's CHECK constraints (``store.tables``),
the instruments' answer codes and the analysis formulas (domain.md section 4) all read these
tuples, so a code cannot exist in one layer and not in another.
"""

from __future__ import annotations

PROGRAMME_STATUSES = ("draft", "active", "retired")
PARTICIPATION_FORMS = ("online", "onsite", "blended")
# EU Recommendation Annex I, "type of assessment". The codes are the Edubadges
# ``assessmentType`` vocabulary (the one published vocabulary micro-credentials carry in
# Open Badges 3.0, ``../shared/fixtures/open-badges/schemas/microcredential.json``), written
# as identifiers (spaces written as underscores), plus ``other``; the programme's own words
# go to ``assessment_description``.
ASSESSMENT_TYPES = (
    "testing",  # Edubadges "testing": an exam, a quiz, a test
    "application_of_a_skill",  # "application of a skill": a project, a practical, observation
    "portfolio",  # "portfolio"
    "recognition_of_prior_learning",  # "recognition of prior learning"
    "other",  # none of these: the description says what
)
# Annex I, "type of quality assurance used to underpin the micro-credential": by the awarding
# body's own system, by an external body (an accreditation, an agency's decision), or both;
# ``other`` where neither says it; ``quality_assurance`` keeps the programme's own words.
QUALITY_ASSURANCE_TYPES = ("internal", "external", "internal_and_external", "other")
# Annex I (optional), "supervision and identity verification": the Edubadges
# ``supervisionType`` vocabulary, as identifiers (spaces written as underscores).
SUPERVISION_TYPES = (
    "unsupervised_with_no_identity_verification",  # "unsupervised with no identity verification"
    "supervised_with_no_identity_verification",  # "supervised with no identity verification"
    "supervised_online",  # "supervised online"
    "onsite_with_identity_verification",  # "onsite with identity verification"
)
LANGUAGES = ("en", "es")
GENDERS = ("female", "male", "non_binary", "prefer_not_to_say", "unknown")
PRIOR_EDUCATION = ("secondary", "vocational", "bachelor", "master", "doctorate", "unknown")
BASELINE_EMPLOYMENT = (
    "employed_full_time",
    "employed_part_time",
    "self_employed",
    "unemployed",
    "student",
    "not_in_labour_force",
    "unknown",
)
ENROLMENT_STATUSES = ("completed", "withdrawn", "in_progress")
CREDENTIAL_STATUSES = ("active", "revoked")
CREDENTIAL_SOURCES = ("csv", "open_badges", "manual", "demo")
WAVE_STATUSES = ("draft", "open", "closed")
RESPONSE_STATUSES = ("partial", "complete")
# Why a launch recorded an invitation that will never be sent: the person asked not to be
# contacted again, or their record was erased. They stay in the wave's denominator.
INVITATION_SKIP_REASONS = ("opted_out", "erased")
# The outbox (fieldwork/outbox.py): one row per message planned for an invitation.
MAIL_KINDS = ("invitation", "reminder")
MAIL_STATUSES = (
    "pending",  # due to be sent (at next_attempt_at, when set)
    "claimed",  # taken by a sender's batch, not yet handed to the SMTP server
    "sending",  # being handed over: a crash here leaves it uncertain, never resent
    "sent",  # the server accepted it (message_id recorded)
    "failed_temporary",  # 4xx or no connection: retried with backoff
    "bounced",  # 5xx: the recipient was refused; no more messages to this invitation
    "cancelled",  # no longer due (submitted, opted out, other source, wave closed)
    "uncertain",  # a sender died while handing it over; not resent (docs/fieldwork.md)
)
# domain.md section 4: one primary activity per graduate per wave.
ACTIVITIES = (
    "employed_full_time",
    "employed_part_time",
    "self_employed",
    "internship",
    "voluntary",
    "military",
    "continuing_education",
    "seeking_employment",
    "seeking_study",
    "not_seeking",
    "unknown",
)
# The canonical outcome measures of the outcome table, in table order (instruments derive
# them, the demo writes them).
OUTCOME_MEASURES = (
    "activity",
    "hours_per_week",
    "salary_annual",
    "salary_excluded",
    "occupation_isco",
    "industry_isic",
    "job_related",
    "promoted",
    "satisfaction",
    "nps",
    "voice_meaningful",
    "voice_future",
    "voice_skills",
    "months_to_first_job",
    "job_search_censored",
)
# Where an outcome came from: the graduate's own survey answers, or staff who learned it
# elsewhere (an employer's confirmation, a public profile a staff member checked, a phone
# call). Every analysis and export keeps the source (domain.md section 4, knowledge rate).
OUTCOME_SOURCES = ("survey", "staff_verified", "employer", "public_profile", "phone")
OTHER_OUTCOME_SOURCES = tuple(s for s in OUTCOME_SOURCES if s != "survey")
SALARY_PERIODS = ("hourly", "weekly", "monthly", "annual")
ROLES = ("admin", "manager", "reviewer")

# Activity groups of domain.md section 4.
EMPLOYED = ("employed_full_time", "employed_part_time", "self_employed")
# NACE "career outcomes": employment of any kind (incl. internships and fellowships),
# voluntary/service, military and continuing education.
CAREER_POSITIVE = (*EMPLOYED, "internship", "voluntary", "military", "continuing_education")
SEEKING = ("seeking_employment", "seeking_study")

# ISO 3166-1 alpha-2 codes and English short names: the issuer country of a programme (Annex
# I, element 3). Generated from Debian's iso-codes 4.15.0 (``/usr/share/iso-codes/json/
# iso_3166-1.json``, the data pycountry also ships), kept here rather than as a dependency:
# 249 codes change rarely, and a new one is a one-line change reviewed like any other.
COUNTRY_NAMES: dict[str, str] = {
    "AD": "Andorra",
    "AE": "United Arab Emirates",
    "AF": "Afghanistan",
    "AG": "Antigua and Barbuda",
    "AI": "Anguilla",
    "AL": "Albania",
    "AM": "Armenia",
    "AO": "Angola",
    "AQ": "Antarctica",
    "AR": "Argentina",
    "AS": "American Samoa",
    "AT": "Austria",
    "AU": "Australia",
    "AW": "Aruba",
    "AX": "Åland Islands",
    "AZ": "Azerbaijan",
    "BA": "Bosnia and Herzegovina",
    "BB": "Barbados",
    "BD": "Bangladesh",
    "BE": "Belgium",
    "BF": "Burkina Faso",
    "BG": "Bulgaria",
    "BH": "Bahrain",
    "BI": "Burundi",
    "BJ": "Benin",
    "BL": "Saint Barthélemy",
    "BM": "Bermuda",
    "BN": "Brunei Darussalam",
    "BO": "Bolivia, Plurinational State of",
    "BQ": "Bonaire, Sint Eustatius and Saba",
    "BR": "Brazil",
    "BS": "Bahamas",
    "BT": "Bhutan",
    "BV": "Bouvet Island",
    "BW": "Botswana",
    "BY": "Belarus",
    "BZ": "Belize",
    "CA": "Canada",
    "CC": "Cocos (Keeling) Islands",
    "CD": "Congo, The Democratic Republic of the",
    "CF": "Central African Republic",
    "CG": "Congo",
    "CH": "Switzerland",
    "CI": "Côte d'Ivoire",
    "CK": "Cook Islands",
    "CL": "Chile",
    "CM": "Cameroon",
    "CN": "China",
    "CO": "Colombia",
    "CR": "Costa Rica",
    "CU": "Cuba",
    "CV": "Cabo Verde",
    "CW": "Curaçao",
    "CX": "Christmas Island",
    "CY": "Cyprus",
    "CZ": "Czechia",
    "DE": "Germany",
    "DJ": "Djibouti",
    "DK": "Denmark",
    "DM": "Dominica",
    "DO": "Dominican Republic",
    "DZ": "Algeria",
    "EC": "Ecuador",
    "EE": "Estonia",
    "EG": "Egypt",
    "EH": "Western Sahara",
    "ER": "Eritrea",
    "ES": "Spain",
    "ET": "Ethiopia",
    "FI": "Finland",
    "FJ": "Fiji",
    "FK": "Falkland Islands (Malvinas)",
    "FM": "Micronesia, Federated States of",
    "FO": "Faroe Islands",
    "FR": "France",
    "GA": "Gabon",
    "GB": "United Kingdom",
    "GD": "Grenada",
    "GE": "Georgia",
    "GF": "French Guiana",
    "GG": "Guernsey",
    "GH": "Ghana",
    "GI": "Gibraltar",
    "GL": "Greenland",
    "GM": "Gambia",
    "GN": "Guinea",
    "GP": "Guadeloupe",
    "GQ": "Equatorial Guinea",
    "GR": "Greece",
    "GS": "South Georgia and the South Sandwich Islands",
    "GT": "Guatemala",
    "GU": "Guam",
    "GW": "Guinea-Bissau",
    "GY": "Guyana",
    "HK": "Hong Kong",
    "HM": "Heard Island and McDonald Islands",
    "HN": "Honduras",
    "HR": "Croatia",
    "HT": "Haiti",
    "HU": "Hungary",
    "ID": "Indonesia",
    "IE": "Ireland",
    "IL": "Israel",
    "IM": "Isle of Man",
    "IN": "India",
    "IO": "British Indian Ocean Territory",
    "IQ": "Iraq",
    "IR": "Iran, Islamic Republic of",
    "IS": "Iceland",
    "IT": "Italy",
    "JE": "Jersey",
    "JM": "Jamaica",
    "JO": "Jordan",
    "JP": "Japan",
    "KE": "Kenya",
    "KG": "Kyrgyzstan",
    "KH": "Cambodia",
    "KI": "Kiribati",
    "KM": "Comoros",
    "KN": "Saint Kitts and Nevis",
    "KP": "Korea, Democratic People's Republic of",
    "KR": "Korea, Republic of",
    "KW": "Kuwait",
    "KY": "Cayman Islands",
    "KZ": "Kazakhstan",
    "LA": "Lao People's Democratic Republic",
    "LB": "Lebanon",
    "LC": "Saint Lucia",
    "LI": "Liechtenstein",
    "LK": "Sri Lanka",
    "LR": "Liberia",
    "LS": "Lesotho",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "LY": "Libya",
    "MA": "Morocco",
    "MC": "Monaco",
    "MD": "Moldova, Republic of",
    "ME": "Montenegro",
    "MF": "Saint Martin (French part)",
    "MG": "Madagascar",
    "MH": "Marshall Islands",
    "MK": "North Macedonia",
    "ML": "Mali",
    "MM": "Myanmar",
    "MN": "Mongolia",
    "MO": "Macao",
    "MP": "Northern Mariana Islands",
    "MQ": "Martinique",
    "MR": "Mauritania",
    "MS": "Montserrat",
    "MT": "Malta",
    "MU": "Mauritius",
    "MV": "Maldives",
    "MW": "Malawi",
    "MX": "Mexico",
    "MY": "Malaysia",
    "MZ": "Mozambique",
    "NA": "Namibia",
    "NC": "New Caledonia",
    "NE": "Niger",
    "NF": "Norfolk Island",
    "NG": "Nigeria",
    "NI": "Nicaragua",
    "NL": "Netherlands",
    "NO": "Norway",
    "NP": "Nepal",
    "NR": "Nauru",
    "NU": "Niue",
    "NZ": "New Zealand",
    "OM": "Oman",
    "PA": "Panama",
    "PE": "Peru",
    "PF": "French Polynesia",
    "PG": "Papua New Guinea",
    "PH": "Philippines",
    "PK": "Pakistan",
    "PL": "Poland",
    "PM": "Saint Pierre and Miquelon",
    "PN": "Pitcairn",
    "PR": "Puerto Rico",
    "PS": "Palestine, State of",
    "PT": "Portugal",
    "PW": "Palau",
    "PY": "Paraguay",
    "QA": "Qatar",
    "RE": "Réunion",
    "RO": "Romania",
    "RS": "Serbia",
    "RU": "Russian Federation",
    "RW": "Rwanda",
    "SA": "Saudi Arabia",
    "SB": "Solomon Islands",
    "SC": "Seychelles",
    "SD": "Sudan",
    "SE": "Sweden",
    "SG": "Singapore",
    "SH": "Saint Helena, Ascension and Tristan da Cunha",
    "SI": "Slovenia",
    "SJ": "Svalbard and Jan Mayen",
    "SK": "Slovakia",
    "SL": "Sierra Leone",
    "SM": "San Marino",
    "SN": "Senegal",
    "SO": "Somalia",
    "SR": "Suriname",
    "SS": "South Sudan",
    "ST": "Sao Tome and Principe",
    "SV": "El Salvador",
    "SX": "Sint Maarten (Dutch part)",
    "SY": "Syrian Arab Republic",
    "SZ": "Eswatini",
    "TC": "Turks and Caicos Islands",
    "TD": "Chad",
    "TF": "French Southern Territories",
    "TG": "Togo",
    "TH": "Thailand",
    "TJ": "Tajikistan",
    "TK": "Tokelau",
    "TL": "Timor-Leste",
    "TM": "Turkmenistan",
    "TN": "Tunisia",
    "TO": "Tonga",
    "TR": "Türkiye",
    "TT": "Trinidad and Tobago",
    "TV": "Tuvalu",
    "TW": "Taiwan, Province of China",
    "TZ": "Tanzania, United Republic of",
    "UA": "Ukraine",
    "UG": "Uganda",
    "UM": "United States Minor Outlying Islands",
    "US": "United States",
    "UY": "Uruguay",
    "UZ": "Uzbekistan",
    "VA": "Holy See (Vatican City State)",
    "VC": "Saint Vincent and the Grenadines",
    "VE": "Venezuela, Bolivarian Republic of",
    "VG": "Virgin Islands, British",
    "VI": "Virgin Islands, U.S.",
    "VN": "Viet Nam",
    "VU": "Vanuatu",
    "WF": "Wallis and Futuna",
    "WS": "Samoa",
    "YE": "Yemen",
    "YT": "Mayotte",
    "ZA": "South Africa",
    "ZM": "Zambia",
    "ZW": "Zimbabwe",
}

# Month names of each language, for dates written out in words (the survey pages, messages).
MONTH_NAMES: dict[str, list[str]] = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
}
