//! Every administration page (GET), for the screenshot and accessibility walks: a screenshot
//! name and a path, with `{org}`, `{member}`, `{rank}`, `{printer}`, `{model}` and
//! `{slicer_profile}` to fill in.

pub const PAGES: &[(&str, &str)] = &[
    ("manage", "/orgs/{org}/manage"),
    ("manage-members", "/orgs/{org}/manage/members"),
    ("manage-member", "/orgs/{org}/manage/members/{member}"),
    ("manage-workgroups", "/orgs/{org}/manage/workgroups"),
    ("manage-ranks", "/orgs/{org}/manage/ranks"),
    ("manage-rank", "/orgs/{org}/manage/ranks/{rank}"),
    ("manage-printers", "/orgs/{org}/manage/printers"),
    ("manage-printer", "/orgs/{org}/manage/printers/{printer}"),
    ("manage-printer-models", "/orgs/{org}/manage/printer-models"),
    (
        "manage-printer-model",
        "/orgs/{org}/manage/printer-models/{model}",
    ),
    ("manage-sites", "/orgs/{org}/manage/sites"),
    ("manage-printer-access", "/orgs/{org}/manage/printer-access"),
    ("manage-quotas", "/orgs/{org}/manage/quotas"),
    ("manage-settings", "/orgs/{org}/manage/settings"),
    (
        "manage-slicer-profiles",
        "/orgs/{org}/manage/slicer-profiles",
    ),
    (
        "manage-slicer-profile-new",
        "/orgs/{org}/manage/slicer-profiles/new",
    ),
    (
        "manage-slicer-profile",
        "/orgs/{org}/manage/slicer-profiles/{slicer_profile}",
    ),
    ("manage-slicer-locks", "/orgs/{org}/manage/slicer-locks"),
];
