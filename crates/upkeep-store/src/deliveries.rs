//! Webhook deliveries and what became of them: accepted, ignored, or rejected (unsigned,
//! forged, replayed, malformed). Kept so that a super user sees why a push did not run.

use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;

use crate::page::{Page, PageRequest};
use crate::time::{from_millis, to_millis};
use crate::workspaces::WorkspaceId;
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub workspace: WorkspaceId,
    /// `github` or `gitlab`.
    pub provider: String,
    /// The provider's id of the delivery.
    pub delivery_id: String,
    pub event: String,
    /// `accepted`, `ignored`, `unsigned`, `forged`, `replayed`, `malformed`.
    pub verdict: String,
    pub detail: String,
    pub received_at: Timestamp,
}

pub trait DeliveryStore {
    #[allow(clippy::too_many_arguments)]
    fn record_delivery(
        &self,
        workspace: WorkspaceId,
        provider: &str,
        delivery_id: &str,
        event: &str,
        verdict: &str,
        detail: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether a delivery of this id was accepted before (a replay).
    fn delivery_accepted(
        &self,
        provider: &str,
        delivery_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// How many deliveries had each verdict, all workspaces (for metrics).
    fn count_deliveries_by_verdict(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;
    /// A page of the deliveries of a workspace, newest first.
    fn deliveries(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Delivery>, StoreError>> + Send;
}

impl DeliveryStore for Store {
    async fn record_delivery(
        &self,
        workspace: WorkspaceId,
        provider: &str,
        delivery_id: &str,
        event: &str,
        verdict: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deliveries (workspace_id, provider, delivery_id, event, verdict, detail, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(workspace.0)
        .bind(provider)
        .bind(delivery_id)
        .bind(event)
        .bind(verdict)
        .bind(detail)
        .bind(to_millis(Timestamp::now()))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn delivery_accepted(
        &self,
        provider: &str,
        delivery_id: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM deliveries WHERE provider = $1 AND delivery_id = $2 AND verdict = $3",
        )
        .bind(provider)
        .bind(delivery_id)
        .bind("accepted")
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    async fn count_deliveries_by_verdict(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT verdict, COUNT(*) AS n FROM deliveries GROUP BY verdict ORDER BY verdict",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("verdict")?, row.try_get("n")?)))
            .collect()
    }

    async fn deliveries(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, workspace_id, provider, delivery_id, event, verdict, detail, received_at \
             FROM deliveries WHERE workspace_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(workspace.0)
        .bind(page.before_bound())
        .bind(page.fetch())
        .fetch_all(self.pool())
        .await?;
        let deliveries = rows
            .iter()
            .map(|row| {
                Ok(Delivery {
                    id: row.try_get("id")?,
                    workspace: WorkspaceId(row.try_get("workspace_id")?),
                    provider: row.try_get("provider")?,
                    delivery_id: row.try_get("delivery_id")?,
                    event: row.try_get("event")?,
                    verdict: row.try_get("verdict")?,
                    detail: row.try_get("detail")?,
                    received_at: from_millis(row.try_get("received_at")?)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page::of(deliveries, page, |delivery: &Delivery| {
            delivery.id
        }))
    }
}
