//! Printer reservations: a printer held for a member or a workgroup over a time window, during
//! which the dispatcher sends it only their jobs.

use authz::Permission;
use domain::{
    Invalid, MemberId, PrinterId, Reservation, ReservationFor, ReservationId, Timestamp,
    WorkgroupId,
};
use serde_json::json;

use super::Fleet;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::unit_of_work::{Audit, Changes, Found};

/// Longest reservation, in days.
pub const MAX_RESERVATION_DAYS: i64 = 90;
/// Longest note, in characters.
pub const MAX_RESERVATION_NOTE_CHARS: usize = 500;

/// A reservation as asked for.
#[derive(Debug, Clone)]
pub struct ReservePrinter {
    /// Exactly one of a member and a workgroup.
    pub member_id: Option<MemberId>,
    pub workgroup_id: Option<WorkgroupId>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub note: String,
}

impl ReservePrinter {
    fn check(&self, now: Timestamp) -> AppResult<ReservationFor> {
        let reserved_for = match (self.member_id, self.workgroup_id) {
            (Some(member), None) => ReservationFor::Member(member),
            (None, Some(group)) => ReservationFor::Workgroup(group),
            _ => {
                return Err(Invalid::new(
                    "member_id",
                    "give exactly one of member_id and workgroup_id",
                )
                .into());
            }
        };
        if self.ends_at <= self.starts_at {
            return Err(Invalid::new("ends_at", "must be after starts_at").into());
        }
        if self.ends_at <= now {
            return Err(Invalid::new("ends_at", "must be in the future").into());
        }
        let longest = MAX_RESERVATION_DAYS * 86_400 * 1_000_000;
        if self.ends_at.micros() - self.starts_at.micros() > longest {
            return Err(Invalid::new(
                "ends_at",
                format!("a reservation lasts at most {MAX_RESERVATION_DAYS} days"),
            )
            .into());
        }
        if self.note.chars().count() > MAX_RESERVATION_NOTE_CHARS {
            return Err(Invalid::new(
                "note",
                format!("must be at most {MAX_RESERVATION_NOTE_CHARS} characters"),
            )
            .into());
        }
        Ok(reserved_for)
    }
}

fn reservation_summary(reservation: &Reservation) -> serde_json::Value {
    let (member, workgroup) = match reservation.reserved_for {
        ReservationFor::Member(m) => (Some(m.get()), None),
        ReservationFor::Workgroup(w) => (None, Some(w.get())),
    };
    json!({
        "printer_id": reservation.printer_id,
        "member_id": member,
        "workgroup_id": workgroup,
        "starts_at": reservation.starts_at.to_rfc3339(),
        "ends_at": reservation.ends_at.to_rfc3339(),
        "note": reservation.note,
    })
}

impl Fleet<'_> {
    /// Reserves the printer (`printers.reserve` on it) for a member or a workgroup of the
    /// organization; refused (409 `reservation_overlaps`) when another reservation of the
    /// printer overlaps the window.
    pub async fn reserve(
        &self,
        actor: &OrgActor,
        printer: PrinterId,
        input: ReservePrinter,
    ) -> AppResult<Reservation> {
        let reserved_for = input.check(self.app.now())?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor()
            .require_on_printer(Permission::PrintersReserve, printer)?;
        let (org, now) = (actor.org(), uow.now());
        match reserved_for {
            ReservationFor::Member(member) => {
                if uow.actor().policy.member_ix(member).is_none() {
                    return Err(AppError::not_found("member"));
                }
            }
            ReservationFor::Workgroup(group) => {
                store::get_workgroup(uow.conn(), org, group)
                    .await
                    .found("workgroup")?;
            }
        }
        let window = (input.starts_at, input.ends_at);
        if store::reservation_overlaps(uow.conn(), org, printer, window.0, window.1).await? {
            return Err(AppError::conflict(
                ErrorCode::ReservationOverlaps,
                "another reservation of this printer overlaps that time; change or cancel it first",
            ));
        }
        let new = store::NewReservation {
            printer,
            reserved_for,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            note: input.note.trim(),
            created_by: actor.member_id(),
        };
        let reservation = store::insert_reservation(uow.conn(), org, &new, now).await?;
        uow.audit(
            Audit::of("printer.reserve", "printer", printer)
                .after(reservation_summary(&reservation)),
        );
        uow.commit().await?;
        Ok(reservation)
    }

    /// The printer's reservations that have not ended, earliest first.
    pub async fn reservations(
        &self,
        actor: &OrgActor,
        printer: PrinterId,
    ) -> AppResult<Vec<Reservation>> {
        actor.require_on_printer(Permission::PrintersView, printer)?;
        let mut conn = self.app.store().read().await?;
        let now = self.app.now();
        Ok(store::printer_reservations(&mut conn, actor.org(), printer, now).await?)
    }

    /// Cancels a reservation of the printer (`printers.reserve` on it).
    pub async fn cancel_reservation(
        &self,
        actor: &OrgActor,
        printer: PrinterId,
        id: ReservationId,
    ) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor()
            .require_on_printer(Permission::PrintersReserve, printer)?;
        let org = actor.org();
        let reservation = store::get_reservation(uow.conn(), org, id)
            .await
            .found("reservation")?;
        if reservation.printer_id != printer {
            return Err(AppError::not_found("reservation"));
        }
        store::delete_reservation(uow.conn(), org, id).await?;
        uow.audit(
            Audit::of("printer.reservation_cancel", "printer", printer)
                .before(reservation_summary(&reservation)),
        );
        uow.commit().await?;
        self.app.wake_dispatcher();
        Ok(())
    }
}
