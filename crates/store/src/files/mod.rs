//! The file library: which contents are stored ([`blobs`](self::stored), with their
//! thumbnails), the files that name them, and library projects with their shares.

mod library;
mod projects;
mod stored;

pub use library::*;
pub use projects::*;
pub use stored::*;

use domain::MemberId;

/// Whose view of the library a query takes: a member's (their own files, and the projects
/// they own or that are shared with them directly or through a workgroup), or everyone's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Member(MemberId),
    All,
}

/// `SQL` that is true for the projects `member` (the parameter `$member`) may see: owned, or
/// shared with them or one of their workgroups. `p` is the projects table.
fn project_visible_sql(member: &str) -> String {
    format!(
        "(p.owner_member_id = {member} OR EXISTS (SELECT 1 FROM project_shares s \
         WHERE s.project_id = p.id AND (s.member_id = {member} OR s.workgroup_id IN \
         (SELECT wm.workgroup_id FROM workgroup_members wm WHERE wm.member_id = {member}))))"
    )
}

/// `SQL` that is true for the files `member` (the parameter `$member`) may see: their own, and
/// those in projects they may see. `f` is the files table, `org` the organization's parameter.
pub(crate) fn file_visible_sql(member: &str, org: &str) -> String {
    format!(
        "(f.owner_member_id = {member} OR f.project_id IN \
         (SELECT p.id FROM projects p WHERE p.org_id = {org} AND {}))",
        project_visible_sql(member)
    )
}
