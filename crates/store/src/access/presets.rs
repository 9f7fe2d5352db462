//! Presets: ready-made sets of ranks an organization starts from.

use authz::AccessLevel;
use authz::presets::{Preset, RankTemplate};
use domain::{GrantSubject, GrantTarget, OrgId, RankId, Timestamp};

use super::ranks::{NewRank, insert_rank};
use crate::{Conn, StoreError};

/// Adds a preset's ranks at the given positions (one per rank, in the preset's order), each with
/// its access on all printers as a rank grant.
pub async fn insert_preset_ranks(
    conn: &mut Conn,
    org: OrgId,
    preset: Preset,
    positions: &[i32],
    now: Timestamp,
) -> Result<Vec<(RankTemplate, RankId)>, StoreError> {
    let templates = preset.ranks();
    if positions.len() != templates.len() {
        return Err(StoreError::Unsupported(
            "a preset's ranks need one position each",
        ));
    }
    let mut created = Vec::new();
    for (template, position) in templates.into_iter().zip(positions) {
        let new = NewRank {
            name: template.name,
            description: template.description,
            position: *position,
            is_owner: template.is_owner,
            permissions: template.permissions,
            tri_state: template.tri_state,
            scope: &template.scope,
            out_of_scope: template.out_of_scope,
            member_scope: template.member_scope,
        };
        let id = insert_rank(conn, org, &new).await?;
        if template.access > AccessLevel::None {
            let subject = GrantSubject::Rank(id);
            super::grants::insert_grant(
                conn,
                org,
                subject,
                GrantTarget::AllPrinters,
                template.access,
                now,
            )
            .await?;
        }
        created.push((template, id));
    }
    Ok(created)
}
