//! What every page shows around its content, and the words and formats pages share.

use authz::Permission as P;
use domain::{JobState, PrinterState, Timestamp};

use super::assets::VERSION;
use super::session::{InOrg, Viewer};

/// The frame of a page: title, who is signed in, the organization and its navigation.
#[derive(Debug)]
pub(crate) struct Layout {
    pub title: String,
    pub asset_version: &'static str,
    /// Empty when no one is signed in (the sign-in page).
    pub user_name: String,
    pub csrf: String,
    pub org: Option<OrgNav>,
    /// How many organizations the person belongs to (the switcher shows with two or more).
    pub org_count: usize,
    /// Which navigation entry is this page's.
    pub current: &'static str,
}

/// The organization's navigation: only the entries the member may open.
#[derive(Debug)]
pub(crate) struct OrgNav {
    pub id: i64,
    pub name: String,
    pub rank: String,
    pub can_queue: bool,
    pub can_submit: bool,
    pub can_use_library: bool,
    pub can_approve: bool,
    pub can_see_members: bool,
    pub can_see_audit: bool,
    pub can_answer_requests: bool,
    /// Holds any administration permission: the "Manage" entry.
    pub can_manage: bool,
    pub can_see_reports: bool,
    pub can_manage_displays: bool,
}

impl Layout {
    pub(crate) fn public(title: &str) -> Layout {
        Layout {
            title: title.to_string(),
            asset_version: VERSION.as_str(),
            user_name: String::new(),
            csrf: String::new(),
            org: None,
            org_count: 0,
            current: "",
        }
    }

    pub(crate) fn signed_in(viewer: &Viewer, title: &str, org_count: usize) -> Layout {
        Layout {
            user_name: viewer.principal.user.name.clone(),
            // Masked afresh for each page (the same value in all its forms).
            csrf: super::session::masked_token(&viewer.csrf),
            org_count,
            ..Layout::public(title)
        }
    }

    pub(crate) fn in_org(member: &InOrg, title: &str, current: &'static str) -> Layout {
        let actor = &member.actor;
        Layout {
            org: Some(OrgNav {
                id: actor.org().get(),
                name: member.org_name.clone(),
                rank: actor.member.rank.name.clone(),
                can_queue: actor.holds(P::QueueViewOwn) || actor.holds(P::QueueViewAll),
                can_submit: actor.holds(P::QueueSubmit),
                can_use_library: actor.holds(P::FilesView),
                can_approve: actor.holds(P::ApprovalReview),
                can_see_members: actor.holds(P::MembersView),
                can_see_audit: actor.holds(P::AuditView),
                can_answer_requests: actor.holds(P::QuotasApproveRequests),
                can_manage: super::admin::administers_anything(actor),
                can_see_reports: actor.holds(P::BillingViewReports),
                can_manage_displays: actor.holds(P::SitesManage),
            }),
            current,
            ..Layout::signed_in(&member.viewer, title, member.org_count)
        }
    }
}

pub(crate) fn printer_state_label(state: PrinterState) -> &'static str {
    match state {
        PrinterState::Offline => "Offline",
        PrinterState::Idle => "Idle",
        PrinterState::Printing => "Printing",
        PrinterState::Paused => "Paused",
        PrinterState::AwaitingBedClear => "Waiting for the plate to be cleared",
        PrinterState::Error => "Error",
        PrinterState::Maintenance => "In maintenance",
    }
}

pub(crate) fn job_state_label(state: JobState) -> &'static str {
    match state {
        JobState::PendingApproval => "Waiting for approval",
        JobState::Queued => "Queued",
        JobState::Assigned => "Assigned to a printer",
        JobState::Printing => "Printing",
        JobState::Paused => "Paused",
        JobState::Unknown => "Unknown (printer dropped off)",
        JobState::Completed => "Completed",
        JobState::Failed => "Failed",
        JobState::Cancelled => "Cancelled",
        JobState::Rejected => "Rejected",
        JobState::SentBack => "Sent back for changes",
    }
}

/// A duration for people: "45 s", "12 min", "2 h 5 min". (The script formats the same way.)
pub(crate) fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds <= 0.0 {
        return "0 s".into();
    }
    // Rounded to whole seconds and bounded (a year), so the conversion cannot overflow.
    let total = seconds.round().min(31_536_000.0) as u64;
    if total < 60 {
        format!("{total} s")
    } else if total < 3600 {
        format!("{} min", total / 60)
    } else {
        let minutes = (total % 3600) / 60;
        if minutes == 0 {
            format!("{} h", total / 3600)
        } else {
            format!("{} h {minutes} min", total / 3600)
        }
    }
}

/// A moment in UTC to the minute: "2026-11-22 09:00 UTC".
pub(crate) fn when(at: Timestamp) -> String {
    let text = at.to_rfc3339();
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(duration(0.0), "0 s");
        assert_eq!(duration(f64::NAN), "0 s");
        assert_eq!(duration(44.6), "45 s");
        assert_eq!(duration(725.0), "12 min");
        assert_eq!(duration(7500.0), "2 h 5 min");
        assert_eq!(duration(7200.0), "2 h");
        assert_eq!(duration(1e300), "8760 h");
    }
}
