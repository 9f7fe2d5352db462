//! Organization and people: the organization and its sites, members, invitations and
//! workgroups.

mod invitations;
mod members;
mod organizations;
mod workgroups;

pub use invitations::{
    AcceptInvitation, CreateInvitation, CreatedInvitation, InvitationPreview,
    MAX_INVITATION_TTL_HOURS, PendingInvitation,
};
pub use members::{AddMember, UpdateMember};
pub(crate) use organizations::org_summary;
pub use organizations::{CreateSite, UpdateOrg, UpdateSite};
pub use workgroups::{CreateWorkgroup, SetWorkgroupMember, UpdateWorkgroup, WorkgroupDetail};

use crate::App;

/// The use cases of an organization and its people.
#[derive(Clone, Copy)]
pub struct People<'a> {
    pub(crate) app: &'a App,
}

impl App {
    pub fn people(&self) -> People<'_> {
        People { app: self }
    }
}
