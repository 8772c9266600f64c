//! The accepted wave plan as the watcher reads it: at most once an invocation, and
//! only when something needs it (an alert or a warning names the application a server
//! belongs to; a new job takes the plan's replication settings for its server). A plan
//! that cannot be read is logged and read as no plan: alerts then name no application
//! and new jobs take the watcher's own parameters, rather than wait.

use std::sync::Arc;

use autopilot_core::artifacts;
use autopilot_core::config::JobWatcherConfig;
use autopilot_core::events::server_subject;
use autopilot_core::model::ServerId;
use autopilot_core::plan::resolved::{ResolvedPlan, RESOLVED_KEY};
use autopilot_core::runtime::Context;

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
    ) -> Arc<ResolvedPlan> {
        if !needed {
            return Arc::default();
        }
        if let Some(plan) = &self.read {
            return Arc::clone(plan);
        }
        let bucket = &context.config.artifacts_bucket;
        let plan = match artifacts::load_json(&context.s3, bucket, RESOLVED_KEY, "resolved plan")
            .await
        {
            Ok(plan) => Arc::new(plan),
            Err(error) => {
                tracing::error!(error = %error, "the accepted wave plan cannot be read; alerts name no application and new jobs take the watcher's own parameters");
                Arc::default()
            }
        };
        self.read = Some(Arc::clone(&plan));
        plan
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
