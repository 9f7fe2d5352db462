//! The routes of the work pages: the queue's reordering, moving a job to another target, the
//! approval inbox's other decisions, reprinting and copying a job's file, the library, slicing
//! and invitations. Each is declared with what it requires, like every page (and checked by the
//! same coverage test).

use authz::Permission as P;

use super::{invitations, jobs, library, slicing};
use crate::routes::{PlainRoutes, Requires};

pub(crate) fn routes(routes: PlainRoutes) -> PlainRoutes {
    let org = |permission| Requires::Permission(permission);
    // Beyond the route's permission, the library's use cases decide on the file or project
    // itself (ownership, shares); `files.manage.all` reaches everyone's.
    let change_or_all = &[P::FilesManageAll];
    routes
        .post(
            org(P::QueueReorder),
            "/orgs/{org_id}/jobs/{job_id}/reorder",
            jobs::reorder,
        )
        .post_also(
            org(P::QueueMoveOwn),
            &[P::QueueMoveAll],
            "/orgs/{org_id}/jobs/{job_id}/move",
            jobs::move_job,
        )
        .post(
            org(P::ApprovalReview),
            "/orgs/{org_id}/jobs/{job_id}/send-back",
            jobs::send_back,
        )
        .post(
            org(P::ApprovalReview),
            "/orgs/{org_id}/approvals/decide",
            jobs::decide_many,
        )
        .post(
            org(P::QueueReprint),
            "/orgs/{org_id}/jobs/{job_id}/reprint",
            jobs::reprint,
        )
        .post_also(
            org(P::FilesView),
            &[P::FilesViewAll],
            "/orgs/{org_id}/jobs/{job_id}/copy-to-library",
            jobs::copy_to_library,
        )
        .get_also(
            org(P::FilesView),
            &[P::FilesViewAll],
            "/orgs/{org_id}/library",
            library::library,
        )
        .post_streaming(
            org(P::FilesUpload),
            "/orgs/{org_id}/library/files",
            library::upload,
        )
        .post(
            org(P::ProjectsCreate),
            "/orgs/{org_id}/library/projects",
            library::create_project,
        )
        .get_also(
            org(P::FilesView),
            &[P::FilesViewAll],
            "/orgs/{org_id}/library/projects/{project_id}",
            library::project,
        )
        .post_also(
            org(P::FilesView),
            change_or_all,
            "/orgs/{org_id}/library/projects/{project_id}/rename",
            library::rename_project,
        )
        .post_also(
            org(P::FilesView),
            change_or_all,
            "/orgs/{org_id}/library/projects/{project_id}/delete",
            library::delete_project,
        )
        .post_also(
            org(P::FilesView),
            change_or_all,
            "/orgs/{org_id}/library/projects/{project_id}/share",
            library::share_project,
        )
        .post_also(
            org(P::FilesView),
            change_or_all,
            "/orgs/{org_id}/library/projects/{project_id}/unshare",
            library::unshare_project,
        )
        .get_also(
            org(P::FilesView),
            &[P::FilesViewAll],
            "/orgs/{org_id}/files/{file_id}",
            library::file,
        )
        .post_also(
            org(P::FilesView),
            change_or_all,
            "/orgs/{org_id}/files/{file_id}/move",
            library::move_file,
        )
        .post_also(
            org(P::FilesView),
            &[P::FilesViewAll],
            "/orgs/{org_id}/files/{file_id}/copy",
            library::copy_file,
        )
        .post_also(
            org(P::FilesView),
            change_or_all,
            "/orgs/{org_id}/files/{file_id}/delete",
            library::delete_file,
        )
        .get_also(
            org(P::SlicerUse),
            &[P::SlicerAdvancedTab, P::SlicerExpertTab],
            "/orgs/{org_id}/files/{file_id}/slice",
            slicing::slice_form,
        )
        .post_also(
            org(P::SlicerUse),
            &[P::SlicerAdvancedTab, P::SlicerExpertTab],
            "/orgs/{org_id}/files/{file_id}/slices",
            slicing::start,
        )
        .get_also(
            org(P::SlicerUse),
            &[P::FilesViewAll],
            "/orgs/{org_id}/files/{file_id}/slices/{slice_id}",
            slicing::slice,
        )
        .post_also(
            org(P::SlicerUse),
            &[P::FilesManageAll],
            "/orgs/{org_id}/files/{file_id}/slices/{slice_id}/cancel",
            slicing::cancel,
        )
        .get(
            Requires::Public,
            "/invitations/{token}",
            invitations::invitation,
        )
        .post(
            Requires::Public,
            "/invitations/{token}",
            invitations::accept,
        )
        .post(
            Requires::Authenticated,
            "/invitations/mine/{invitation_id}/accept",
            invitations::accept_mine,
        )
        .post(
            Requires::Authenticated,
            "/invitations/mine/{invitation_id}/decline",
            invitations::decline_mine,
        )
}
