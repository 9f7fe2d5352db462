//! The organization's settings (name, time zone, currency, plate clearing, G-code upload,
//! fair share), approval, billing settings and the submission questions; quotas, custom quota
//! periods and prices.

use askama::Template;
use authz::{BedClearAccess, Permission as P};
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use domain::money::{FailedPrintCharge, HoldAt, Price, minor_digits};
use domain::quotas::{Allowance, QuotaKind, QuotaPeriod, format_money};
use domain::{MemberId, PrinterModelId, QuestionId, QuestionKind, WorkgroupId};
use serde::Deserialize;

use super::members::Option_;
use super::{Done, Page, back_to, framed, given, id_of};
use crate::WebState;
use crate::routes::{PlainRoutes, Requires};
use crate::ui::account::parse_money;
use crate::ui::error::{UiError, render};
use crate::ui::session::{InOrg, checked_form};
use crate::ui::views::Layout;

pub(super) fn routes(routes: PlainRoutes) -> PlainRoutes {
    let org = Requires::Permission;
    routes
        .get(
            org(P::OrganizationView),
            "/orgs/{org_id}/manage/settings",
            settings,
        )
        .post_also(
            org(P::OrganizationManage),
            &[P::FilesRestrictGcodeUpload],
            "/orgs/{org_id}/manage/settings/organization",
            update_org,
        )
        .post(
            org(P::ApprovalConfigure),
            "/orgs/{org_id}/manage/settings/approval",
            update_approval,
        )
        .post(
            org(P::BillingManagePrices),
            "/orgs/{org_id}/manage/settings/billing",
            update_billing,
        )
        .post(
            org(P::SubmissionsManageQuestions),
            "/orgs/{org_id}/manage/questions",
            create_question,
        )
        .post(
            org(P::SubmissionsManageQuestions),
            "/orgs/{org_id}/manage/questions/{question_id}",
            update_question,
        )
        .post(
            org(P::SubmissionsManageQuestions),
            "/orgs/{org_id}/manage/questions/{question_id}/archive",
            archive_question,
        )
        .get_also(
            org(P::QuotasViewAll),
            &[P::OrganizationView],
            "/orgs/{org_id}/manage/quotas",
            quotas,
        )
        .post(
            org(P::QuotasManage),
            "/orgs/{org_id}/manage/quotas",
            set_quota,
        )
        .post(
            org(P::QuotasManage),
            "/orgs/{org_id}/manage/quota-periods",
            create_period,
        )
        .post(
            org(P::BillingManagePrices),
            "/orgs/{org_id}/manage/prices",
            set_price,
        )
}

struct QuestionLine {
    id: i64,
    label: String,
    kind: &'static str,
    required: bool,
    /// One choice a line, as the form takes them.
    choices: String,
}

struct KindChoice {
    key: &'static str,
    label: &'static str,
}

fn question_kinds() -> Vec<KindChoice> {
    QuestionKind::ALL
        .into_iter()
        .map(|k| KindChoice {
            key: k.key(),
            label: match k {
                QuestionKind::Text => "Text",
                QuestionKind::Choice => "One of the choices",
                QuestionKind::MultiChoice => "Any of the choices",
                QuestionKind::Number => "A number",
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    layout: Layout,
    org_id: i64,
    name: String,
    time_zone: String,
    currency: String,
    bed_clear_access: &'static str,
    gcode_upload_restricted: bool,
    fair_share: bool,
    fair_share_window_days: i32,
    approval_required: bool,
    hold_at: &'static str,
    failed_print_charge: &'static str,
    /// The floor as money (`-20.00`); empty for none.
    balance_floor: String,
    questions: Vec<QuestionLine>,
    kinds: Vec<KindChoice>,
    may_manage_org: bool,
    may_restrict_gcode: bool,
    may_configure_approval: bool,
    may_manage_billing: bool,
    may_manage_questions: bool,
    notice: &'static str,
}

/// Money in minor units as the forms show it: `-20.00` (no currency sign).
pub(super) fn money_field(minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    let scale = 10_i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if digits == 0 {
        format!("{sign}{abs}")
    } else {
        let scale = scale.unsigned_abs();
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = digits as usize
        )
    }
}

/// Every setting of the organization, each form for those who may change it.
async fn settings(State(state): State<WebState>, member: InOrg, Query(done): Query<Done>) -> Page {
    let org = state.app.people().get_org(&member.actor).await;
    let org = org.map_err(framed(&member))?;
    let billing = state.app.billing().settings(&member.actor).await;
    let billing = billing.map_err(framed(&member))?;
    let holds = |p| member.actor.holds(p);
    let questions = if holds(P::SubmissionsManageQuestions) || holds(P::QueueSubmit) {
        let list = state.app.jobs().questions(&member.actor).await;
        list.map_err(framed(&member))?
    } else {
        Vec::new()
    };
    let page = SettingsPage {
        layout: Layout::in_org(&member, "Organization settings", "manage"),
        org_id: member.actor.org().get(),
        bed_clear_access: org.bed_clear_access.key(),
        gcode_upload_restricted: org.gcode_upload_restricted,
        fair_share: org.fair_share,
        fair_share_window_days: org.fair_share_window_days,
        approval_required: org.approval_required,
        hold_at: billing.hold_at.key(),
        failed_print_charge: billing.failed_print_charge.key(),
        balance_floor: billing
            .balance_floor_minor
            .map(|floor| money_field(floor, &org.currency))
            .unwrap_or_default(),
        questions: questions
            .into_iter()
            .map(|q| QuestionLine {
                id: q.id.get(),
                label: q.label,
                kind: q.kind.key(),
                required: q.required,
                choices: q.choices.join("\n"),
            })
            .collect(),
        kinds: question_kinds(),
        name: org.name,
        time_zone: org.time_zone,
        currency: org.currency,
        may_manage_org: holds(P::OrganizationManage),
        may_restrict_gcode: holds(P::FilesRestrictGcodeUpload),
        may_configure_approval: holds(P::ApprovalConfigure),
        may_manage_billing: holds(P::BillingManagePrices),
        may_manage_questions: holds(P::SubmissionsManageQuestions),
        notice: match done.done.as_str() {
            "organization" => "The organization's settings were saved.",
            "approval" => "The approval setting was saved.",
            "billing" => "The billing settings were saved.",
            "question" => "The submission questions were saved.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct OrgForm {
    name: String,
    time_zone: String,
    currency: String,
    bed_clear_access: String,
    /// Present when the form offers the G-code setting (to those who may change it).
    #[serde(default)]
    gcode_offered: Option<String>,
    #[serde(default)]
    gcode_upload_restricted: Option<String>,
    #[serde(default)]
    fair_share: Option<String>,
    fair_share_window_days: String,
}

async fn update_org(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: OrgForm = checked_form(&member.viewer, request).await?;
    let bed_clear_access = BedClearAccess::parse(&form.bed_clear_access)
        .ok_or_else(|| UiError::BadForm("choose who may confirm a clear plate".into()))?;
    let window =
        super::optional_number::<i32>("the fair share window", &form.fair_share_window_days)?;
    let input = app::UpdateOrg {
        name: Some(form.name),
        time_zone: Some(form.time_zone),
        currency: Some(form.currency),
        bed_clear_access: Some(bed_clear_access),
        gcode_upload_restricted: form
            .gcode_offered
            .map(|_| form.gcode_upload_restricted.is_some()),
        fair_share: Some(form.fair_share.is_some()),
        fair_share_window_days: window,
    };
    let updated = state.app.people().update_org(&member.actor, input).await;
    updated.map_err(framed(&member))?;
    Ok(back_to(&member, "settings", "organization"))
}

#[derive(Deserialize)]
struct ApprovalForm {
    #[serde(default)]
    approval_required: Option<String>,
}

async fn update_approval(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: ApprovalForm = checked_form(&member.viewer, request).await?;
    let set = state
        .app
        .jobs()
        .set_approval_required(&member.actor, form.approval_required.is_some())
        .await;
    set.map_err(framed(&member))?;
    Ok(back_to(&member, "settings", "approval"))
}

#[derive(Deserialize)]
struct BillingForm {
    hold_at: String,
    failed_print_charge: String,
    #[serde(default)]
    balance_floor: String,
}

/// Reads an amount of the organization's currency from a form, to minor units.
pub(super) async fn money_of(
    state: &WebState,
    member: &InOrg,
    label: &str,
    text: &str,
) -> Result<i64, UiError> {
    let org = state.app.people().get_org(&member.actor).await;
    let currency = org.map_err(framed(member))?.currency;
    let digits = minor_digits(&currency);
    parse_money(text, digits).ok_or_else(|| {
        UiError::BadForm(format!(
            "{label} must be an amount of {currency} with at most {digits} decimals, such as 12.50"
        ))
    })
}

async fn update_billing(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: BillingForm = checked_form(&member.viewer, request).await?;
    let hold_at = HoldAt::parse(&form.hold_at)
        .ok_or_else(|| UiError::BadForm("hold the cost at submission or at approval".into()))?;
    let failed = FailedPrintCharge::parse(&form.failed_print_charge)
        .ok_or_else(|| UiError::BadForm("choose what a failed print costs".into()))?;
    let floor = match form.balance_floor.trim() {
        "" => None,
        text => Some(money_of(&state, &member, "the balance floor", text).await?),
    };
    let change = app::UpdateBilling {
        hold_at: Some(hold_at),
        failed_print_charge: Some(failed),
        balance_floor_minor: Some(floor),
    };
    let updated = state
        .app
        .billing()
        .update_settings(&member.actor, change)
        .await;
    updated.map_err(framed(&member))?;
    Ok(back_to(&member, "settings", "billing"))
}

#[derive(Deserialize)]
struct QuestionForm {
    label: String,
    kind: String,
    #[serde(default)]
    required: Option<String>,
    /// One choice a line.
    #[serde(default)]
    choices: String,
}

fn question_input(form: QuestionForm) -> Result<app::QuestionInput, UiError> {
    let kind = QuestionKind::parse(&form.kind)
        .ok_or_else(|| UiError::BadForm("choose what kind of answer the question takes".into()))?;
    Ok(app::QuestionInput {
        label: form.label,
        kind,
        required: form.required.is_some(),
        choices: form
            .choices
            .lines()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

async fn create_question(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: QuestionForm = checked_form(&member.viewer, request).await?;
    let input = question_input(form)?;
    let created = state.app.jobs().create_question(&member.actor, input).await;
    created.map_err(framed(&member))?;
    Ok(back_to(&member, "settings", "question"))
}

async fn update_question(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, question)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: QuestionForm = checked_form(&member.viewer, request).await?;
    let id = QuestionId(id_of(&question)?);
    let input = question_input(form)?;
    let updated = state
        .app
        .jobs()
        .update_question(&member.actor, id, input)
        .await;
    updated.map_err(framed(&member))?;
    Ok(back_to(&member, "settings", "question"))
}

async fn archive_question(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, question)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _: Vec<(String, String)> = checked_form(&member.viewer, request).await?;
    let id = QuestionId(id_of(&question)?);
    let archived = state.app.jobs().archive_question(&member.actor, id).await;
    archived.map_err(framed(&member))?;
    Ok(back_to(&member, "settings", "question"))
}

/// Whose allowances a quota form is about: `organization`, `workgroup:<id>` or `member:<id>`.
fn parse_level(key: &str) -> Result<app::QuotaLevel, UiError> {
    let bad = || UiError::BadForm("choose the organization, a workgroup or a member".into());
    match key.split_once(':') {
        None if key == "organization" || key.is_empty() => Ok(app::QuotaLevel::Organization),
        Some(("workgroup", id)) => Ok(app::QuotaLevel::Workgroup(WorkgroupId(
            id.parse().map_err(|_| bad())?,
        ))),
        Some(("member", id)) => Ok(app::QuotaLevel::Member(MemberId(
            id.parse().map_err(|_| bad())?,
        ))),
        _ => Err(bad()),
    }
}

fn level_key(level: app::QuotaLevel) -> String {
    match level {
        app::QuotaLevel::Organization => "organization".into(),
        app::QuotaLevel::Workgroup(id) => format!("workgroup:{}", id.get()),
        app::QuotaLevel::Member(id) => format!("member:{}", id.get()),
    }
}

fn kind_label(kind: QuotaKind) -> &'static str {
    match kind {
        QuotaKind::Prints => "Prints",
        QuotaKind::PrintingHours => "Printing time (hours)",
        QuotaKind::MaterialGrams => "Material (grams)",
        QuotaKind::CostMinor => "Spending (minor units: cents)",
        QuotaKind::MaxJobDurationS => "Longest single print (seconds)",
        QuotaKind::MaxActiveJobs => "Jobs waiting or printing at once",
    }
}

/// `day`, `week`, `month`, `range:<id>` or `none`.
fn period_key(period: Option<QuotaPeriod>) -> String {
    match period {
        Some(QuotaPeriod::Range(id)) => format!("range:{}", id.get()),
        Some(period) => period.key().to_string(),
        None => "none".into(),
    }
}

fn parse_period(key: &str) -> Result<Option<QuotaPeriod>, UiError> {
    let (name, range) = match key.split_once(':') {
        Some((name, id)) => (
            name,
            Some(
                id.parse::<i64>()
                    .map_err(|_| UiError::BadForm("choose a period".into()))?,
            ),
        ),
        None => (key, None),
    };
    QuotaPeriod::from_parts(name, range).ok_or_else(|| UiError::BadForm("choose a period".into()))
}

struct AllowanceLine {
    kind: &'static str,
    kind_label: &'static str,
    period: String,
    period_label: String,
    limit: i64,
}

struct PeriodChoice {
    key: String,
    label: String,
}

struct PriceLine {
    index: usize,
    model: String,
    material: String,
    per_gram: String,
    per_hour: String,
    flat_fee: String,
}

#[derive(Template)]
#[template(path = "admin/quotas.html")]
struct QuotasPage {
    layout: Layout,
    org_id: i64,
    level: String,
    levels: Vec<PeriodChoice>,
    level_label: String,
    allowances: Vec<AllowanceLine>,
    kinds: Vec<KindChoice>,
    periods: Vec<PeriodChoice>,
    custom_periods: Vec<String>,
    prices: Vec<PriceLine>,
    models: Vec<Option_>,
    currency: String,
    may_manage: bool,
    may_price: bool,
    notice: &'static str,
}

#[derive(Deserialize, Default)]
struct QuotaQuery {
    #[serde(default)]
    level: String,
    #[serde(default)]
    done: String,
}

/// Allowances of the organization, a workgroup or a member; custom periods; prices.
async fn quotas(
    State(state): State<WebState>,
    member: InOrg,
    Query(query): Query<QuotaQuery>,
) -> Page {
    let level = parse_level(&query.level).map_err(|e| e.framed(&member))?;
    let quotas = state.app.quotas();
    let allowances = quotas.allowances(&member.actor, level).await;
    let allowances = allowances.map_err(framed(&member))?;
    let custom = quotas
        .periods(&member.actor)
        .await
        .map_err(framed(&member))?;
    let (prices, currency) = state
        .app
        .billing()
        .prices(&member.actor)
        .await
        .map_err(framed(&member))?;
    let models = state
        .app
        .fleet()
        .list_printer_models(&member.actor)
        .await
        .unwrap_or_default();
    let range_name = |id: domain::QuotaPeriodId| {
        custom
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("period {}", id.get()), |p| p.name.clone())
    };
    let period_label = |period: Option<QuotaPeriod>| match period {
        None => "—".to_string(),
        Some(QuotaPeriod::Day) => "per day".into(),
        Some(QuotaPeriod::Week) => "per week".into(),
        Some(QuotaPeriod::Month) => "per month".into(),
        Some(QuotaPeriod::Range(id)) => range_name(id),
    };
    let mut periods = vec![
        PeriodChoice {
            key: "none".into(),
            label: "No period (longest print, jobs at once)".into(),
        },
        PeriodChoice {
            key: "day".into(),
            label: "per day".into(),
        },
        PeriodChoice {
            key: "week".into(),
            label: "per week".into(),
        },
        PeriodChoice {
            key: "month".into(),
            label: "per month".into(),
        },
    ];
    periods.extend(custom.iter().map(|p| PeriodChoice {
        key: format!("range:{}", p.id.get()),
        label: format!("{} ({} to {})", p.name, p.starts_on, p.ends_on),
    }));
    let mut levels = vec![PeriodChoice {
        key: "organization".into(),
        label: "The organization's defaults".into(),
    }];
    if let Ok(groups) = state.app.people().list_workgroups(&member.actor).await {
        levels.extend(groups.into_iter().map(|g| PeriodChoice {
            key: format!("workgroup:{}", g.id.get()),
            label: format!("Workgroup {}", g.name),
        }));
    }
    if member.actor.holds(P::MembersView)
        && let Ok(people) = state.app.people().list_members(&member.actor).await
    {
        levels.extend(
            people
                .into_iter()
                .filter(|m| m.active)
                .map(|m| PeriodChoice {
                    key: format!("member:{}", m.id.get()),
                    label: format!("Member {} ({})", m.name, m.email),
                }),
        );
    }
    let key = level_key(level);
    let level_label = levels
        .iter()
        .find(|l| l.key == key)
        .map_or_else(|| key.clone(), |l| l.label.clone());
    let model_name = |id: Option<PrinterModelId>| match id {
        None => "Any model".to_string(),
        Some(id) => models
            .iter()
            .find(|m| m.id == id)
            .map_or_else(|| format!("model {}", id.get()), |m| m.name.clone()),
    };
    let page = QuotasPage {
        layout: Layout::in_org(&member, "Quotas and prices", "manage"),
        org_id: member.actor.org().get(),
        allowances: allowances
            .iter()
            .map(|a| AllowanceLine {
                kind: a.kind.key(),
                kind_label: kind_label(a.kind),
                period: period_key(a.period),
                period_label: period_label(a.period),
                limit: a.limit,
            })
            .collect(),
        kinds: QuotaKind::ALL
            .into_iter()
            .map(|k| KindChoice {
                key: k.key(),
                label: kind_label(k),
            })
            .collect(),
        periods,
        custom_periods: custom
            .iter()
            .map(|p| format!("{}: {} to {}", p.name, p.starts_on, p.ends_on))
            .collect(),
        prices: prices
            .iter()
            .enumerate()
            .map(|(index, p)| PriceLine {
                index,
                model: model_name(p.printer_model_id),
                material: p.material.clone().unwrap_or_else(|| "Any material".into()),
                per_gram: format_money(p.per_gram_minor, &currency),
                per_hour: format_money(p.per_hour_minor, &currency),
                flat_fee: format_money(p.flat_fee_minor, &currency),
            })
            .collect(),
        models: models
            .into_iter()
            .map(|m| Option_ {
                value: m.id.get(),
                label: m.name,
            })
            .collect(),
        currency,
        level: key,
        levels,
        level_label,
        may_manage: member.actor.holds(P::QuotasManage),
        may_price: member.actor.holds(P::BillingManagePrices),
        notice: match query.done.as_str() {
            "quota" => "The allowances were saved.",
            "period" => "The custom period was added.",
            "price" => "The prices were saved.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct QuotaForm {
    level: String,
    kind: String,
    period: String,
    /// `set` (add, or replace the same kind and period) or `remove`.
    op: String,
    #[serde(default)]
    limit: String,
}

/// Adds, replaces or removes one allowance of a level (the others stay as they are).
async fn set_quota(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: QuotaForm = checked_form(&member.viewer, request).await?;
    let level = parse_level(&form.level)?;
    let kind = QuotaKind::parse(&form.kind)
        .ok_or_else(|| UiError::BadForm("choose what to limit".into()))?;
    let period = parse_period(&form.period)?;
    let quotas = state.app.quotas();
    let mut list = quotas
        .allowances(&member.actor, level)
        .await
        .map_err(framed(&member))?;
    list.retain(|a| !(a.kind == kind && a.period == period));
    if form.op == "set" {
        let limit = super::optional_number::<i64>("the limit", &form.limit)?
            .ok_or_else(|| UiError::BadForm("the limit must be a whole number".into()))?;
        list.push(Allowance {
            kind,
            period,
            limit,
        });
    }
    let saved = quotas.set_allowances(&member.actor, level, list).await;
    saved.map_err(framed(&member))?;
    let org = member.actor.org();
    let to = format!(
        "/orgs/{org}/manage/quotas?{}",
        serde_urlencoded::to_string([("level", level_key(level).as_str()), ("done", "quota")])
            .unwrap_or_default()
    );
    Ok(axum::response::IntoResponse::into_response(
        axum::response::Redirect::to(&to),
    ))
}

#[derive(Deserialize)]
struct PeriodForm {
    name: String,
    starts_on: String,
    ends_on: String,
}

async fn create_period(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: PeriodForm = checked_form(&member.viewer, request).await?;
    let input = app::NewCustomPeriod {
        name: form.name,
        starts_on: form.starts_on,
        ends_on: form.ends_on,
    };
    let created = state.app.quotas().create_period(&member.actor, input).await;
    created.map_err(framed(&member))?;
    Ok(back_to(&member, "quotas", "period"))
}

#[derive(Deserialize)]
struct PriceForm {
    /// `set` (add, or replace the same model and material) or `remove`.
    op: String,
    #[serde(default)]
    index: String,
    #[serde(default)]
    model_id: String,
    #[serde(default)]
    material: String,
    #[serde(default)]
    per_gram: String,
    #[serde(default)]
    per_hour: String,
    #[serde(default)]
    flat_fee: String,
}

/// Adds, replaces or removes one price (the others stay as they are).
async fn set_price(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: PriceForm = checked_form(&member.viewer, request).await?;
    let billing = state.app.billing();
    let (mut prices, _) = billing
        .prices(&member.actor)
        .await
        .map_err(framed(&member))?;
    match form.op.as_str() {
        "remove" => {
            let index = super::optional_number::<usize>("the price", &form.index)?
                .filter(|i| *i < prices.len())
                .ok_or_else(|| UiError::BadForm("that price is no longer there".into()))?;
            prices.remove(index);
        }
        "set" => {
            let model = super::optional_number::<i64>("the printer model", &form.model_id)?
                .map(PrinterModelId);
            let material = given(&form.material);
            let amount = |label: &'static str, text: String| {
                let (state, member) = (&state, &member);
                async move {
                    match text.trim() {
                        "" => Ok(0),
                        text => money_of(state, member, label, text).await,
                    }
                }
            };
            let price = Price {
                printer_model_id: model,
                material: material.clone(),
                per_gram_minor: amount("the price per gram", form.per_gram).await?,
                per_hour_minor: amount("the price per hour", form.per_hour).await?,
                flat_fee_minor: amount("the flat fee", form.flat_fee).await?,
            };
            prices.retain(|p| !(p.printer_model_id == model && p.material == material));
            prices.push(price);
        }
        _ => return Err(UiError::BadForm("add or remove a price".into())),
    }
    let saved = billing.set_prices(&member.actor, prices).await;
    saved.map_err(framed(&member))?;
    Ok(back_to(&member, "quotas", "price"))
}
