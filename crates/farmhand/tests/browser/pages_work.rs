//! The work pages (submitting, the queue, approvals, the library and slicing, organizations
//! and invitations) for the walk over every page (accessibility and screenshots): screenshot
//! name and path (the pages both lists share are in `pages.rs`). Placeholders: `{org}`,
//! `{gcode_file}`, `{model_file}`, `{project}`.

pub const PAGES: &[(&str, &str)] = &[
    ("library", "/orgs/{org}/library"),
    ("library-project", "/orgs/{org}/library/projects/{project}"),
    ("library-file", "/orgs/{org}/files/{gcode_file}"),
    ("slice-form", "/orgs/{org}/files/{model_file}/slice"),
    ("queue-filtered", "/orgs/{org}/jobs?state=queued&text=cube"),
    (
        "submit-review",
        "/orgs/{org}/jobs/new?file={gcode_file}&target=any&copies=1",
    ),
];
