//! The web interface's pages that the accessibility walk opens (see
//! `every_page_is_accessible_and_fits_a_phone`): a name for the screenshots and the path, with
//! placeholders the walk resolves from the demo organization: `{org}`, `{job}`, `{printer}`,
//! `{member}`, `{file}`, `{project}`, `{model}`, `{rank}`, `{site}`, `{display}`.

pub const PAGES: &[(&str, &str)] = &[
    ("organizations", "/orgs"),
    ("password", "/password"),
    ("dashboard", "/orgs/{org}"),
    ("queue", "/orgs/{org}/jobs"),
    ("submit", "/orgs/{org}/jobs/new"),
    ("job", "/orgs/{org}/jobs/{job}"),
    ("approvals", "/orgs/{org}/approvals"),
    ("members", "/orgs/{org}/members"),
    ("member-account", "/orgs/{org}/members/{member}/account"),
    ("account", "/orgs/{org}/account"),
    ("quota-requests", "/orgs/{org}/quota-requests"),
    ("audit", "/orgs/{org}/audit"),
    ("reports", "/orgs/{org}/reports"),
    ("displays", "/orgs/{org}/displays"),
    ("wall-display", "/display/{display}"),
];
