//! The web interface over plain HTTP: every page route declared and enforced (signed-out
//! visitors go to the sign-in page), CSRF tokens on every form, the Content-Security-Policy on
//! every page, refusals in plain words, and "not found" for what is not the visitor's.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::common::{PASSWORD, TestServer};

crate::on_both_backends!(
    every_page_is_declared_and_signed_out_visitors_go_to_sign_in,
    signing_in_through_the_form_needs_its_token,
    forms_without_the_session_token_change_nothing,
    refusals_name_the_permission_and_what_is_not_yours_is_not_found,
    a_print_submitted_through_the_form_is_checked_like_the_api,
    members_and_the_audit_log,
    a_member_sees_their_allowances_and_balance,
    a_one_time_password_is_changed_before_anything_else,
    someone_in_several_organizations_switches_between_them,
);

const CUBE: &[u8] = include_bytes!("../../../app/fixtures/demo/calibration_cube.gcode");

/// A browser-like client: a cookie jar, redirects not followed (the tests look at them).
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The value of the first hidden `csrf` field of a page.
pub(crate) fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a csrf field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

pub(crate) fn assert_page(response: &reqwest::Response) {
    assert_eq!(
        response
            .headers()
            .get(CONTENT_SECURITY_POLICY)
            .map(|v| v.to_str().unwrap()),
        Some(web::CONTENT_SECURITY_POLICY),
        "{}",
        response.url()
    );
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{}",
        response.url()
    );
}

/// GETs a page as `client`.
pub(crate) async fn open(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
) -> reqwest::Response {
    client
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap()
}

/// Signs `client` in through the form, as a person would.
pub(crate) async fn sign_in(
    server: &TestServer,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) {
    let page = open(server, client, "/sign-in").await;
    assert_eq!(page.status(), StatusCode::OK);
    let token = csrf_of(&page.text().await.unwrap());
    let response = client
        .post(format!("{}/sign-in", server.base))
        .form(&[
            ("csrf", token.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email}");
}

async fn every_page_is_declared_and_signed_out_visitors_go_to_sign_in(server: &TestServer) {
    let visitor = browser();
    let pages: Vec<_> = web::declarations()
        .into_iter()
        .filter(|d| {
            !d.path.starts_with("/api/")
                && !["/healthz", "/readyz", "/metrics"].contains(&d.path.as_str())
        })
        .collect();
    assert!(pages.len() >= 15, "{pages:?}");
    for page in &pages {
        let path = page
            .path
            .replace("{org_id}", "1")
            .replace("{printer_id}", "1")
            .replace("{job_id}", "1")
            .replace("{link_id}", "1")
            .replace("{name}", "app.css");
        let response = visitor
            .request(page.method.clone(), format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        match page.requires {
            // An invitation link that names no invitation is "not found".
            web::Requires::Public if path == "/invitations/{token}" && page.method == "GET" => {
                assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            }
            web::Requires::Public => assert!(
                status == StatusCode::OK
                    || status == StatusCode::SEE_OTHER
                    // The sign-in and invitation forms without their token.
                    || status == StatusCode::FORBIDDEN
                    // A wall display's link that does not exist.
                    || (status == StatusCode::NOT_FOUND && path.starts_with("/display/")),
                "{} {path}: {status}",
                page.method
            ),
            _ => {
                assert_eq!(status, StatusCode::SEE_OTHER, "{} {path}", page.method);
                assert!(
                    location(&response).starts_with("/sign-in"),
                    "{} {path}: {}",
                    page.method,
                    location(&response)
                );
            }
        }
    }

    let home = open(server, &visitor, "/").await;
    assert_eq!(
        (home.status(), location(&home)),
        (StatusCode::SEE_OTHER, "/sign-in".to_string())
    );
    let deep = open(server, &visitor, "/orgs/1/jobs?x=1").await;
    assert_eq!(location(&deep), "/sign-in?next=%2Forgs%2F1%2Fjobs%3Fx%3D1");

    let sign_in = open(server, &visitor, "/sign-in").await;
    assert_page(&sign_in);
    assert_eq!(
        sign_in.headers()["x-frame-options"].to_str().unwrap(),
        "DENY"
    );
    let css = open(server, &visitor, "/assets/app.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age"),
    );
    let nowhere = open(server, &visitor, "/no/such/page").await;
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    assert_page(&nowhere);
    assert!(nowhere.text().await.unwrap().contains("Not found"));
}

async fn signing_in_through_the_form_needs_its_token(server: &TestServer) {
    let (org, _owner) = server.org_with_owner("Form Lab", "owner@form.test").await;
    let client = browser();
    let page = client
        .get(format!(
            "{}/sign-in?next=%2Forgs%2F{org}%2Fjobs",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert!(
        page.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("HttpOnly")
    );
    let html = page.text().await.unwrap();
    let token = csrf_of(&html);
    assert!(
        html.contains(&format!("value=\"/orgs/{org}/jobs\"")),
        "{html}"
    );

    let post = |fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = format!("{}/sign-in", server.base);
        async move { client.post(url).form(&fields).send().await.unwrap() }
    };
    let without = post(vec![
        ("email", "owner@form.test".into()),
        ("password", PASSWORD.into()),
    ])
    .await;
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    assert!(
        without
            .text()
            .await
            .unwrap()
            .contains("This form has expired")
    );
    // A token of someone else's form (not this browser's cookie) is no better.
    let foreign = post(vec![
        ("csrf", "0".repeat(64)),
        ("email", "owner@form.test".into()),
        ("password", PASSWORD.into()),
    ])
    .await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);

    let wrong = post(vec![
        ("csrf", token.clone()),
        ("email", "owner@form.test".into()),
        ("password", "not it".into()),
    ])
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let text = wrong.text().await.unwrap();
    assert!(text.contains("Wrong email or password."), "{text}");
    assert!(text.contains("value=\"owner@form.test\""), "{text}");

    let right = post(vec![
        ("csrf", token),
        ("email", "owner@form.test".into()),
        ("password", PASSWORD.into()),
        ("next", format!("/orgs/{org}/jobs")),
    ])
    .await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&right), format!("/orgs/{org}/jobs"));
    let cookies: Vec<_> = right
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with(web::SESSION_COOKIE) && c.contains("HttpOnly")),
        "{cookies:?}"
    );

    let home = open(server, &client, "/").await;
    assert_eq!(location(&home), format!("/orgs/{org}"));
    let dashboard = open(server, &client, &format!("/orgs/{org}")).await;
    assert_eq!(dashboard.status(), StatusCode::OK);
    assert_page(&dashboard);
    let html = dashboard.text().await.unwrap();
    assert!(
        html.contains("Form Lab") && html.contains("Dashboard"),
        "{html}"
    );
    // The same session works for the API, as one sign-in.
    let me = open(server, &client, "/api/v1/me").await;
    assert_eq!(me.status(), StatusCode::OK);
}

async fn forms_without_the_session_token_change_nothing(server: &TestServer) {
    let (org, _owner) = server.org_with_owner("Token Lab", "owner@token.test").await;
    let client = browser();
    sign_in(server, &client, "owner@token.test", PASSWORD).await;
    let dashboard = open(server, &client, &format!("/orgs/{org}"))
        .await
        .text()
        .await
        .unwrap();
    let token = csrf_of(&dashboard);

    for (path, fields) in [
        ("/sign-out".to_string(), vec![]),
        ("/sign-out".to_string(), vec![("csrf", "f".repeat(64))]),
        (
            format!("/orgs/{org}/jobs/1/reject"),
            vec![("reason", "no".to_string())],
        ),
        (
            "/password".to_string(),
            vec![
                ("current_password", PASSWORD.to_string()),
                ("new_password", "another long password".to_string()),
                ("repeat_password", "another long password".to_string()),
            ],
        ),
    ] {
        let response = client
            .post(format!("{}{path}", server.base))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert_page(&response);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("This form has expired"),
            "{path}"
        );
    }
    // A submission without its token is refused before the file is read.
    let form = reqwest::multipart::Form::new().text("target", "any").part(
        "upload",
        reqwest::multipart::Part::bytes(b"G28\n".to_vec()).file_name("a.gcode"),
    );
    let response = client
        .post(format!("{}/orgs/{org}/jobs", server.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Still signed in, password unchanged: nothing happened.
    let still = open(server, &client, &format!("/orgs/{org}")).await;
    assert_eq!(still.status(), StatusCode::OK);

    // With the token, signing out works.
    let out = client
        .post(format!("{}/sign-out", server.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (out.status(), location(&out)),
        (StatusCode::SEE_OTHER, "/sign-in".to_string())
    );
    let after = open(server, &client, &format!("/orgs/{org}")).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
}

async fn refusals_name_the_permission_and_what_is_not_yours_is_not_found(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Plain Lab", "owner@plain.test").await;
    let (other_org, _) = server.org_with_owner("Other Lab", "owner@other.test").await;
    server
        .member(&owner, org, "Member", "member@plain.test")
        .await;
    let member = browser();
    sign_in(server, &member, "member@plain.test", PASSWORD).await;

    let approvals = open(server, &member, &format!("/orgs/{org}/approvals")).await;
    assert_eq!(approvals.status(), StatusCode::FORBIDDEN);
    assert_page(&approvals);
    let html = approvals.text().await.unwrap();
    let permission = authz::Permission::ApprovalReview;
    assert!(html.contains(permission.key()), "{html}");
    assert!(
        html.contains("can&#39;t do this") || html.contains("can't do this"),
        "{html}"
    );
    assert!(
        html.contains("Who can grant it") || html.contains("Ask an administrator"),
        "{html}"
    );
    // The navigation offers only what the member may open.
    let dashboard = open(server, &member, &format!("/orgs/{org}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !dashboard.contains(&format!("/orgs/{org}/approvals")),
        "{dashboard}"
    );
    assert!(
        dashboard.contains(&format!("/orgs/{org}/jobs/new")),
        "{dashboard}"
    );

    for path in [
        format!("/orgs/{other_org}"),
        format!("/orgs/{other_org}/jobs"),
        format!("/orgs/{org}/jobs/999999"),
        "/orgs/abc".to_string(),
        format!("/orgs/{org}/jobs/abc"),
    ] {
        let response = open(server, &member, &path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_page(&response);
        assert!(
            response.text().await.unwrap().contains("Not found"),
            "{path}"
        );
    }
}

async fn a_print_submitted_through_the_form_is_checked_like_the_api(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Form Farm", "owner@farm.test").await;
    let (status, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": "Workshop" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let (status, printer) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printers"),
            json!({ "name": "Mini 1", "site_id": site["id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    // In maintenance: the job stays in the queue, and says why.
    let (status, _) = owner
        .put(
            &format!("/api/v1/orgs/{org}/printers/{}/maintenance", printer["id"]),
            json!({ "on": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = owner
        .put(
            &format!("/api/v1/orgs/{org}/quotas"),
            json!([{ "kind": "max_active_jobs", "limit": 1 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .member(&owner, org, "Member", "member@farm.test")
        .await;
    let member = browser();
    sign_in(server, &member, "member@farm.test", PASSWORD).await;

    let form_page = open(server, &member, &format!("/orgs/{org}/jobs/new")).await;
    assert_eq!(form_page.status(), StatusCode::OK);
    let html = form_page.text().await.unwrap();
    assert!(
        html.contains(&format!("value=\"printer:{}\"", printer["id"])),
        "{html}"
    );
    let token = csrf_of(&html);
    let submit = |upload: bool| {
        let mut form = reqwest::multipart::Form::new()
            .text("csrf", token.clone())
            .text("target", "any")
            .text("copies", "1")
            .text("note", "<b>for the lid</b>");
        if upload {
            form = form.part(
                "upload",
                reqwest::multipart::Part::bytes(CUBE.to_vec()).file_name("cube.gcode"),
            );
        }
        member
            .post(format!("{}/orgs/{org}/jobs", server.base))
            .multipart(form)
            .send()
    };

    let first = submit(true).await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let to = location(&first);
    assert!(to.starts_with(&format!("/orgs/{org}/jobs/")), "{to}");
    let job_page = open(server, &member, &to).await;
    assert_eq!(job_page.status(), StatusCode::OK);
    let html = job_page.text().await.unwrap();
    assert!(html.contains("Your job was submitted."), "{html}");
    assert!(html.contains("cube.gcode"), "{html}");
    assert!(html.contains("Why is this not printing?"), "{html}");
    assert!(html.contains("Mini 1"), "{html}");
    // The note is the member's text, escaped.
    assert!(
        html.contains("&#60;b&#62;for the lid&#60;/b&#62;")
            || html.contains("&lt;b&gt;for the lid&lt;/b&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>for the lid"), "{html}");

    // A second one is over the quota: the form again, saying so, the file kept.
    let second = submit(true).await.unwrap();
    assert_eq!(second.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_page(&second);
    let html = second.text().await.unwrap();
    let problem = html
        .split("class=\"problem\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no refusal on the form: {html}"));
    assert!(
        problem.contains("You have 1 job waiting or printing"),
        "{problem}"
    );
    assert!(
        html.contains("<form method=\"post\" action=\"/orgs/"),
        "{html}"
    );
    assert!(html.contains(" selected>cube.gcode</option>"), "{html}");

    // Without a file, the form says what is missing.
    let third = submit(false).await.unwrap();
    assert_eq!(third.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = third.text().await.unwrap();
    assert!(html.contains("choose a file from your library"), "{html}");

    // The queue lists the job, with the question the job page answers.
    let queue = open(server, &member, &format!("/orgs/{org}/jobs"))
        .await
        .text()
        .await
        .unwrap();
    assert!(queue.contains("why is this not printing?"), "{queue}");

    // The member cancels the first job from its page (with the form's token only).
    let job_page = open(server, &member, &to).await.text().await.unwrap();
    let cancel_action = format!("{}/cancel", to.split('?').next().unwrap());
    assert!(job_page.contains(&cancel_action), "{job_page}");
    let without_token = member
        .post(format!("{}{cancel_action}", server.base))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(without_token.status(), StatusCode::FORBIDDEN);
    let cancelled = member
        .post(format!("{}{cancel_action}", server.base))
        .form(&[("csrf", csrf_of(&job_page))])
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    let html = member
        .get(format!("{}{}", server.base, location(&cancelled)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("The job was cancelled."), "{html}");
    assert!(
        html.contains("<dd class=\"job-state\">Cancelled</dd>"),
        "{html}"
    );
    assert!(!html.contains(&cancel_action), "{html}");
}

async fn members_and_the_audit_log(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Log Lab", "owner@log.test").await;
    server
        .member(&owner, org, "Member", "member@log.test")
        .await;
    let client = browser();
    sign_in(server, &client, "owner@log.test", PASSWORD).await;

    let members = open(server, &client, &format!("/orgs/{org}/members")).await;
    assert_eq!(members.status(), StatusCode::OK);
    assert_page(&members);
    let html = members.text().await.unwrap();
    assert!(
        html.contains("member@log.test") && html.contains("owner@log.test"),
        "{html}"
    );

    let audit = open(server, &client, &format!("/orgs/{org}/audit")).await;
    assert_eq!(audit.status(), StatusCode::OK);
    let html = audit.text().await.unwrap();
    assert!(html.contains("<code>invitation.accept</code>"), "{html}");
    assert!(html.contains("<code>invitation.create</code>"), "{html}");
    assert!(html.contains("audit-events/export.csv"), "{html}");

    let filtered = open(
        server,
        &client,
        &format!("/orgs/{org}/audit?action=invitation.create&target_type="),
    )
    .await;
    let html = filtered.text().await.unwrap();
    assert!(html.contains("<code>invitation.create</code>"), "{html}");
    assert!(!html.contains("<code>invitation.accept</code>"), "{html}");
    let bad = open(server, &client, &format!("/orgs/{org}/audit?cursor=x")).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_page(&bad);

    // The member may see neither; the navigation does not offer them.
    let member = browser();
    sign_in(server, &member, "member@log.test", PASSWORD).await;
    let audit = open(server, &member, &format!("/orgs/{org}/audit")).await;
    assert_eq!(audit.status(), StatusCode::FORBIDDEN);
    let html = audit.text().await.unwrap();
    assert!(html.contains("audit.view"), "{html}");
    // The refusal keeps the member's frame: their name and a way to sign out.
    assert!(html.contains("action=\"/sign-out\""), "{html}");
    assert!(!html.contains(&format!("/orgs/{org}/audit\"")), "{html}");
}

async fn a_member_sees_their_allowances_and_balance(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Money Lab", "owner@money.test").await;
    let (_, member_id) = server
        .member(&owner, org, "Member", "member@money.test")
        .await;
    let (status, set) = owner
        .put(
            &format!("/api/v1/orgs/{org}/quotas"),
            json!([{ "kind": "prints", "period": "week", "limit": 10 }]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (status, topped) = owner
        .post(
            &format!("/api/v1/orgs/{org}/members/{member_id}/balance/top-ups"),
            json!({ "amount_minor": 2500, "reason": "Semester <credit>" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{topped}");

    let client = browser();
    sign_in(server, &client, "member@money.test", PASSWORD).await;
    let account = open(server, &client, &format!("/orgs/{org}/account")).await;
    assert_eq!(account.status(), StatusCode::OK);
    assert_page(&account);
    let html = account.text().await.unwrap();
    assert!(html.contains("Prints per week"), "{html}");
    assert!(html.contains("0 prints of 10 prints"), "{html}");
    assert!(html.contains("the organization&#39;s default"), "{html}");
    assert!(html.contains(">25.00 EUR<"), "{html}");
    assert!(html.contains("Top-up"), "{html}");
    // What people typed is escaped.
    assert!(html.contains("Semester &#60;credit&#62;"), "{html}");
    assert!(
        html.contains(&format!("/orgs/{org}/account\" aria-current")),
        "{html}"
    );
    // The dashboard says the same at a glance.
    let dashboard = open(server, &client, &format!("/orgs/{org}")).await;
    let html = dashboard.text().await.unwrap();
    assert!(
        html.contains("25.00 EUR</span> · Prints per week: 0 prints of 10 prints"),
        "{html}"
    );

    // The member asks for more; the owner grants less than asked; the member reads it.
    let csrf = csrf_of(&html);
    let post = |client: &reqwest::Client, path: String, form: Vec<(&str, String)>| {
        let request = client.post(format!("{}{path}", server.base)).form(&form);
        async move { request.send().await.unwrap() }
    };
    let bad = post(
        &client,
        format!("/orgs/{org}/quota-requests"),
        vec![
            ("csrf", csrf.clone()),
            ("allowance", "prints:fortnight".into()),
            ("limit", "20".into()),
            ("reason", "a bigger project".into()),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let asked = post(
        &client,
        format!("/orgs/{org}/quota-requests"),
        vec![
            ("csrf", csrf.clone()),
            ("allowance", "prints:week".into()),
            ("limit", "20".into()),
            ("reason", "my capstone prototype".into()),
        ],
    )
    .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&asked), format!("/orgs/{org}/account?done=asked"));
    // Members do not answer requests.
    let refused = open(server, &client, &format!("/orgs/{org}/quota-requests")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let approver = browser();
    sign_in(server, &approver, "owner@money.test", PASSWORD).await;
    let inbox = open(server, &approver, &format!("/orgs/{org}/quota-requests")).await;
    assert_eq!(inbox.status(), StatusCode::OK);
    let html = inbox.text().await.unwrap();
    assert!(
        html.contains("member@money.test: Prints per week, 20 prints"),
        "{html}"
    );
    assert!(html.contains("my capstone prototype"), "{html}");
    let (_, listed) = owner
        .get(&format!("/api/v1/orgs/{org}/quota-requests"))
        .await;
    let id = listed[0]["id"].as_i64().unwrap();
    let decided = post(
        &approver,
        format!("/orgs/{org}/quota-requests/{id}/decide"),
        vec![
            ("csrf", csrf_of(&html)),
            ("decision", "approve".into()),
            ("limit", "15".into()),
            ("reason", "15 is what the lab can spare".into()),
        ],
    )
    .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);
    let account = open(server, &client, &format!("/orgs/{org}/account")).await;
    let html = account.text().await.unwrap();
    assert!(
        html.contains("<strong>Approved</strong>: 15 prints granted: 15 is what the lab can spare"),
        "{html}"
    );
    assert!(html.contains("0 prints of 15 prints"), "{html}");

    // The owner keeps the books: the member's account from the members page, and a top-up.
    let members = open(server, &approver, &format!("/orgs/{org}/members")).await;
    let theirs = format!("/orgs/{org}/members/{member_id}/account");
    let html = members.text().await.unwrap();
    assert!(html.contains(&format!("href=\"{theirs}\"")), "{html}");
    let page = open(server, &approver, &theirs).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("member@money.test's account"), "{html}");
    let bad = post(
        &approver,
        format!("/orgs/{org}/members/{member_id}/money"),
        vec![
            ("csrf", csrf_of(&html)),
            ("kind", "top_up".into()),
            ("amount", "7.505".into()),
            ("reason", "lab work".into()),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let moved = post(
        &approver,
        format!("/orgs/{org}/members/{member_id}/money"),
        vec![
            ("csrf", csrf_of(&html)),
            ("kind", "top_up".into()),
            ("amount", "7.50".into()),
            ("reason", "lab work".into()),
        ],
    )
    .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let (_, balance) = owner
        .get(&format!("/api/v1/orgs/{org}/members/{member_id}/balance"))
        .await;
    assert_eq!(balance["balance_minor"], 3250, "{balance}");
    // A member may not open someone else's account, nor move money.
    let theirs_for_member = open(server, &client, &theirs).await;
    assert_eq!(theirs_for_member.status(), StatusCode::FORBIDDEN);
}

async fn a_one_time_password_is_changed_before_anything_else(server: &TestServer) {
    let created = server
        .app()
        .console()
        .create_org(
            "Fresh Lab",
            "owner@fresh.test",
            Some("Owner"),
            authz::Preset::Farmhand,
        )
        .await
        .unwrap();
    let org = created.org.id.get();
    let one_time = created.one_time_password.unwrap();
    let client = browser();
    let page = open(server, &client, "/sign-in").await;
    let token = csrf_of(&page.text().await.unwrap());
    let signed_in = client
        .post(format!("{}/sign-in", server.base))
        .form(&[
            ("csrf", token.as_str()),
            ("email", "owner@fresh.test"),
            ("password", one_time.as_str()),
            ("next", &format!("/orgs/{org}")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&signed_in), "/password");
    for path in ["/".to_string(), format!("/orgs/{org}"), "/orgs".to_string()] {
        let response = open(server, &client, &path).await;
        assert_eq!(location(&response), "/password", "{path}");
    }
    let page = open(server, &client, "/password").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("one-time password"), "{html}");
    let token = csrf_of(&html);
    let change = |new: &'static str, again: &'static str| {
        let client = client.clone();
        let url = format!("{}/password", server.base);
        let fields = [
            ("csrf", token.clone()),
            ("current_password", one_time.clone()),
            ("new_password", new.to_string()),
            ("repeat_password", again.to_string()),
        ];
        async move { client.post(url).form(&fields).send().await.unwrap() }
    };
    let differ = change("a long new password", "another long password").await;
    assert_eq!(differ.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        differ
            .text()
            .await
            .unwrap()
            .contains("The two new passwords differ")
    );
    let changed = change(PASSWORD, PASSWORD).await;
    assert_eq!(
        (changed.status(), location(&changed)),
        (StatusCode::SEE_OTHER, "/".to_string())
    );
    let dashboard = open(server, &client, &format!("/orgs/{org}")).await;
    assert_eq!(dashboard.status(), StatusCode::OK);
}

async fn someone_in_several_organizations_switches_between_them(server: &TestServer) {
    let (farm, farm_owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (lab, lab_owner) = server.org_with_owner("Lab", "owner@lab.test").await;
    let client = browser();
    sign_in(server, &client, "owner@farm.test", PASSWORD).await;
    let alone = open(server, &client, &format!("/orgs/{farm}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!alone.contains("Switch organization"), "{alone}");

    let guest = server.rank_id(&lab_owner, lab, "Guest").await;
    let (status, added) = lab_owner
        .post(
            &format!("/api/v1/orgs/{lab}/members"),
            json!({ "email": "owner@farm.test", "rank_id": guest }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let invitation = added["invitation"]["id"].as_i64().unwrap();
    let (status, member) = farm_owner
        .post_empty(&format!("/api/v1/me/invitations/{invitation}/accept"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");

    let dashboard = open(server, &client, &format!("/orgs/{farm}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        dashboard.contains("title=\"Switch organization\""),
        "{dashboard}"
    );
    let choices = open(server, &client, "/orgs").await.text().await.unwrap();
    for link in [
        format!("href=\"/orgs/{farm}\""),
        format!("href=\"/orgs/{lab}\""),
    ] {
        assert!(choices.contains(&link), "{link}: {choices}");
    }
    let other = open(server, &client, &format!("/orgs/{lab}")).await;
    assert_eq!(other.status(), StatusCode::OK);
    let html = other.text().await.unwrap();
    assert!(html.contains("Guest at"), "{html}");
}
