//! What a job would take and cost before it is submitted: the figures a member reviews
//! between uploading a file and submitting it.

use authz::Permission;
use domain::money::Cost;
use domain::{FileId, JobTarget};

use super::Jobs;
use super::files::readable_gcode;
use super::submission::target_suits;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult};
use crate::unit_of_work::Found;

/// A job's needs and itemized cost estimate, as submitting it now would hold them.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionEstimate {
    /// All copies' estimated printing time, s.
    pub seconds: i64,
    /// All copies' material, g.
    pub grams: i64,
    /// The material the file is sliced for, when it says.
    pub material: Option<String>,
    /// Priced at the dearest printer model the target may go to.
    pub cost: Cost,
    pub currency: String,
}

impl Jobs<'_> {
    /// What `copies` of the file would need and cost on `target`, without submitting: the same
    /// file and target checks as a submission (a file too big for every printer the member may
    /// queue on, or of a material none takes, is refused here already), then the estimate the
    /// submission would hold. Quota and balance are checked when it is submitted.
    pub async fn estimate(
        &self,
        actor: &OrgActor,
        file: FileId,
        target: JobTarget,
        copies: i32,
    ) -> AppResult<SubmissionEstimate> {
        actor.require(Permission::QueueSubmit)?;
        if !(1..=domain::jobs::MAX_COPIES).contains(&copies) {
            return Err(AppError::Invalid(domain::Invalid::new(
                "copies",
                format!("must be 1 to {}", domain::jobs::MAX_COPIES),
            )));
        }
        let mut conn = self.app.store().read().await?;
        let (_, facts) = readable_gcode(&mut conn, actor, file).await?;
        target_suits(&mut conn, actor, target, &facts).await?;
        let currency = store::get_org(&mut conn, actor.org())
            .await
            .found("organization")?
            .currency;
        let prices = store::price_list(&mut conn, actor.org()).await?;
        let models = crate::quotas::candidate_models(actor, target);
        let needs = crate::quotas::job_needs(&facts, copies, &prices, &models);
        Ok(SubmissionEstimate {
            seconds: needs.usage.seconds,
            grams: needs.usage.grams,
            material: facts.material().map(str::to_string),
            cost: needs.estimate,
            currency,
        })
    }
}
