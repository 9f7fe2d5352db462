//! The work pages (submitting, the queue, approvals, the library and slicing, organizations
//! and invitations) for the walk over every page (accessibility and screenshots): screenshot
//! name and path. Placeholders: `{org}`, `{job}`, `{file}` (a G-code file, except for
//! `slice-form`, which wants a model), `{project}`.

#[allow(dead_code)]
pub const PAGES: &[(&str, &str)] = &[
    ("library", "/orgs/{org}/library"),
    ("library-project", "/orgs/{org}/library/projects/{project}"),
    ("library-file", "/orgs/{org}/files/{file}"),
    ("slice-form", "/orgs/{org}/files/{file}/slice"),
    ("queue", "/orgs/{org}/jobs"),
    ("queue-filtered", "/orgs/{org}/jobs?state=queued&text=cube"),
    ("job", "/orgs/{org}/jobs/{job}"),
    ("submit", "/orgs/{org}/jobs/new"),
    (
        "submit-review",
        "/orgs/{org}/jobs/new?file={file}&target=any&copies=1",
    ),
    ("approvals", "/orgs/{org}/approvals"),
    ("organizations", "/orgs"),
];
