"""Saving a finished lead form: the worker's own, or one a coordinator filled in person."""

from __future__ import annotations

from datetime import date
from typing import Any

from content import regions
from handlers import lead_quality, menu, occupations
from handlers.lead_steps import field_entry, form
from handlers.redact import mask_nik
from handlers.turn import Turn
from storage import repositories as repo
from storage import scope
from storage.models import Lead, LeadEvent, Staff


async def save(turn: Turn) -> None:
    answers = form(turn)
    cipher = turn.services.cipher
    nik = cipher.decrypt(answers["nik"].encode())
    nik_hash = cipher.keyed_hash(nik)
    transport = bool(occupations.is_transport(answers["occupation"]))
    timezone = regions.timezone_for(answers["kecamatan"])
    fields: dict[str, Any] = dict(
        full_name=answers["name"],
        nik_encrypted=cipher.encrypt(nik),
        nik_hash=nik_hash,
        nik_masked=mask_nik(nik),
        nik_tail_hash=cipher.tail_hash(nik),
        nik_checks=lead_quality.stored(nik, date.fromisoformat(answers["dob"]), answers["kecamatan"]),
        birth_date=date.fromisoformat(answers["dob"]),
        phone_e164=answers["phone"],
        kabkota_code=answers["kabkota"],
        kecamatan_code=answers["kecamatan"],
        occupation=answers["occupation"],
        is_transport=transport,
        declared_income=answers["income"],
        programmes=answers["programmes"],
        continue_via=answers["continue_via"],
        timezone=timezone,
        campaign_code=None if field_entry(turn) else turn.contact.campaign_code,
        channel=turn.contact.channel,
    )
    field_staff = field_entry(turn)
    if field_staff is not None:
        await _save_field_entry(turn, answers, fields, field_staff)
        return
    mine = [lead for lead in await repo.leads_of_contact(turn.session, turn.contact.id) if lead.nik_hash == nik_hash]
    if mine:
        lead = mine[0]
        for key, value in fields.items():
            setattr(lead, key, value)
    else:
        coordinator = await repo.coordinator_for(turn.session, answers["kecamatan"])
        lead = Lead(
            contact_id=turn.contact.id,
            status="new",
            assigned_staff_id=coordinator.id if coordinator else None,
            **fields,
        )
        turn.session.add(lead)
    await turn.session.flush()
    turn.contact.region_code = answers["kecamatan"]
    turn.contact.timezone = timezone
    turn.contact.phone_e164 = answers["phone"]
    await repo.audit(turn.session, f"contact:{turn.contact.id}", "lead_saved", lead_id=lead.id)
    turn.state.step = None
    turn.drop_data("form", "form_editing")
    turn.intent = "lead_saved"
    from handlers import reminders

    turn.say(
        "form_saved",
        continue_via=answers["continue_via"],
        name=answers["name"].split()[0],
        buttons=[turn.button("invite_friends", "ref:me"), *menu.menu_buttons(turn)],
    )
    reminders.offer(turn)


async def _save_field_entry(turn: Turn, answers: dict[str, Any], fields: dict[str, Any], staff_id: int) -> None:
    staff = await turn.session.get(Staff, staff_id)
    coordinator = await repo.coordinator_for(turn.session, answers["kecamatan"])
    # The coordinator who met the worker keeps the lead when it is in their areas; else the area's own.
    mine = staff is not None and staff.role == "coordinator" and scope.covers(scope.of(staff), answers["kecamatan"])
    assigned = staff_id if mine else (coordinator.id if coordinator else None)
    lead = Lead(contact_id=None, status="new", created_by_staff_id=staff_id, assigned_staff_id=assigned, **fields)
    turn.session.add(lead)
    await turn.session.flush()
    who = staff.name if staff else f"staff {staff_id}"
    turn.session.add(
        LeadEvent(lead_id=lead.id, staff_id=staff_id, status="new", note=f"Persetujuan diberikan langsung kepada {who}")
    )
    await repo.audit(
        turn.session, f"staff:{staff_id}", "lead_field_entry", lead_id=lead.id, consent_at=answers.get("consent_at")
    )
    turn.state.step = None
    turn.drop_data("form", "form_editing")
    turn.intent = "lead_saved"
    turn.say("form_field_saved", name=answers["name"].split()[0], lead_id=lead.id)
