//! The accepted wave plan as the watcher reads it: at most once an invocation, and
//! only when something needs it (an alert or a warning names the application a server
//! belongs to; a new job takes the plan's replication settings for its server), with
//! the one policy of `artifacts::load_resolved_plan` for a missing or unreadable plan.

use std::sync::Arc;

use autopilot_core::artifacts;
use autopilot_core::config::JobWatcherConfig;
use autopilot_core::events::server_subject;
use autopilot_core::model::ServerId;
use autopilot_core::plan::resolved::ResolvedPlan;
use autopilot_core::runtime::Context;
use autopilot_core::AutopilotError;

/// The plan, read on first use.
#[derive(Default)]
pub(crate) struct WavePlan {
    read: Option<Arc<ResolvedPlan>>,
}

impl WavePlan {
    /// The plan when `needed`, reading it the first time; no plan otherwise.
    pub(crate) async fn when(
        &mut self,
        needed: bool,
        context: &Context<JobWatcherConfig>,
    ) -> Result<Arc<ResolvedPlan>, AutopilotError> {
        if !needed {
            return Ok(Arc::default());
        }
        if let Some(plan) = &self.read {
            return Ok(Arc::clone(plan));
        }
        let bucket = &context.config.artifacts_bucket;
        let plan = Arc::new(artifacts::load_resolved_plan(&context.s3, bucket).await?);
        self.read = Some(Arc::clone(&plan));
        Ok(plan)
    }
}

/// How alerts name `server`: the application the plan places it in, and the server
/// in words with that application.
pub(crate) fn naming(
    plan: &ResolvedPlan,
    vm_name: Option<&str>,
    server: &ServerId,
) -> (Option<String>, String) {
    let app = plan.servers.get(server).map(|policy| policy.app.clone());
    let subject = server_subject(vm_name, server, app.as_deref());
    (app, subject)
}
