//! People: organizations, their sites and members, users, invitations and workgroups.

mod invitations;
mod members;
mod organizations;
mod sites;
mod users;
mod workgroups;

pub use invitations::*;
pub use members::*;
pub use organizations::*;
pub use sites::*;
pub use users::*;
pub use workgroups::*;
