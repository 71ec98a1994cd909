"""The ``outcomes programmes`` commands: list, show, create, edit and retire programmes.

``create`` and ``edit`` take the elements as ``--name value`` pairs, named as in
``docs/records.md`` (``--issuer-country ES --eqf-level "not applicable"``), or ``create
--from-file programme.yaml`` (YAML or JSON, one mapping). Every invalid element is one line on
stderr (``Error: <sentence>``). The command line acts as an operator with the database: not
scoped, audited as ``cli:<user>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from outcomes.cli.common import ERROR_PREFIX, fail, open_database

app = typer.Typer(
    help="Programmes with the EU micro-credential elements: list, show, create, edit, retire.",
    no_args_is_help=True,
)
ELEMENT_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}
ELEMENTS_HELP = (
    "Elements as --name value: code, title, title-es, awarding-body, issuer-country, "
    "learning-outcomes, ects, eqf-level (1-8 or 'not applicable'), assessment-type, "
    "assessment-description, participation-form, quality-assurance-type, quality-assurance, "
    "field-of-study, prerequisites, supervision-type, identity-checked, grade-scheme, "
    "stackability, further-information, industry-partners (comma-separated), launched-on, "
    "redesigned-on, achievement-id, status (create only: draft or active). An empty value "
    "clears an optional element."
)


def element_pairs(args: list[str]) -> dict[str, Any]:
    """``--name value`` / ``--name=value`` pairs as element values, by element name."""
    values: dict[str, Any] = {}
    rest = list(args)
    while rest:
        token = rest.pop(0)
        if not token.startswith("--") or len(token) < 3:
            fail(f"Expected an element as --name value, not {token!r}.")
        name, sep, value = token[2:].partition("=")
        if not sep:
            if not rest:
                fail(f"--{name} needs a value.")
            value = rest.pop(0)
        values[name.replace("-", "_")] = value
    return values


def _read_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8-sig")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except OSError as exc:
        fail(f"Could not read {path}: {exc.strerror or exc}.")
    except (ValueError, yaml.YAMLError):
        fail(f"{path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}.")
    if not isinstance(data, dict):
        fail(f"{path} must hold one programme: a mapping of element names to values.")
    return {str(name).replace("-", "_"): value for name, value in data.items()}


def _refuse(messages: dict[str, str]) -> None:
    for message in messages.values():
        typer.echo(f"{ERROR_PREFIX}{message}", err=True)
    raise typer.Exit(1)


def _print(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False, indent=1))
        return
    from outcomes.records.programmes import LABELS

    width = max(len(label) for label in LABELS.values())
    for name, value in record.items():
        shown = "—" if value is None else ", ".join(value) if isinstance(value, list) else value
        typer.echo(f"{LABELS[name]:<{width}}  {shown}")


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Every programme with its elements (retired ones too, marked so)."""
    from outcomes.records.programmes import list_programmes
    from outcomes.store.engine import session_scope

    with session_scope(open_database()) as session:
        records = list_programmes(session)
    if as_json:
        typer.echo(json.dumps(records, ensure_ascii=False, indent=1))
        return
    if not records:
        typer.echo("No programmes yet: add one with `outcomes programmes create`.")
        return
    for r in records:
        eqf = r["eqf_level"] if r["eqf_level"] is not None else "—"
        line = f"{r['code']:<14} {r['status']:<8} {r['ects']:>6g} ECTS  EQF {eqf!s:<15}"
        typer.echo(f"{line} {r['title']}")


@app.command("show")
def show(
    code: Annotated[str, typer.Argument(help="The programme's code.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Every element of one programme."""
    from outcomes.records.programmes import show_programme
    from outcomes.store.engine import session_scope

    with session_scope(open_database()) as session:
        record = show_programme(session, code)
    _print(record, as_json)


@app.command("create", context_settings=ELEMENT_ARGS, help=f"Add a programme. {ELEMENTS_HELP}")
def create(
    ctx: typer.Context,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="A YAML or JSON file with the elements.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the programme as JSON.")] = False,
) -> None:
    from outcomes import audit
    from outcomes.records.programmes import (
        ProgrammeInvalid,
        create_programme,
        parse_create,
        programme_record,
    )
    from outcomes.store.engine import session_scope

    values = _read_file(from_file) if from_file is not None else {}
    values.update(element_pairs(ctx.args))
    try:
        data = parse_create(values)
        with session_scope(open_database()) as session:
            record = programme_record(create_programme(session, data, actor=audit.cli_actor()))
    except ProgrammeInvalid as exc:
        _refuse(exc.messages)
    if not as_json:
        typer.echo(f"Programme {record['code']} created.", err=True)
    _print(record, as_json)


@app.command(
    "edit", context_settings=ELEMENT_ARGS, help=f"Change elements of a programme. {ELEMENTS_HELP}"
)
def edit(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The programme's code.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the programme as JSON.")] = False,
) -> None:
    from outcomes import audit
    from outcomes.records.programmes import (
        ProgrammeInvalid,
        edit_programme,
        parse_update,
        programme_record,
    )
    from outcomes.store.engine import session_scope

    values = element_pairs(ctx.args)
    if not values:
        fail("Name at least one element to change, as --name value.")
    try:
        change = parse_update(values)
        with session_scope(open_database()) as session:
            record = programme_record(
                edit_programme(session, code, change, actor=audit.cli_actor())
            )
    except ProgrammeInvalid as exc:
        _refuse(exc.messages)
    if not as_json:
        typer.echo(f"Programme {code} changed.", err=True)
    _print(record, as_json)


@app.command("retire")
def retire(
    code: Annotated[str, typer.Argument(help="The programme's code.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the programme as JSON.")] = False,
) -> None:
    """Retire a programme: kept with its credentials, offered to no new survey wave."""
    from outcomes import audit
    from outcomes.records.programmes import programme_record, retire_programme
    from outcomes.store.engine import session_scope

    with session_scope(open_database()) as session:
        record = programme_record(retire_programme(session, code, actor=audit.cli_actor()))
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False, indent=1))
        return
    typer.echo(f"Programme {code} is retired.")
