//! The planner's configuration half: the launch and replication settings the plan gives
//! each member MGN lists, put into its MGN configurations, [`MEMBERS_IN_FLIGHT`] members
//! at a time. A member whose wanted settings were put already (the ledger keeps their
//! digests) is not read again; one whose turn comes too near the deadline is left to
//! the next run.

use autopilot_core::config::MgnPlannerConfig;
use autopilot_core::digest::Digest;
use autopilot_core::events::{OutgoingEvent, PlannedConfiguration};
use autopilot_core::mgn;
use autopilot_core::model::ServerId;
use autopilot_core::plan::desired::{DesiredServer, DesiredWave};
use autopilot_core::plan::groupings::HeldApplication;
use autopilot_core::plan::ledger::PlannerLedger;
use autopilot_core::plan::mgn_settings::{MgnLaunch, MgnReplication};
use autopilot_core::runtime::Context;
use autopilot_core::AwsCallError;
use futures::stream::{self, StreamExt};

use crate::{configured, near_deadline, KnownTemplates, Summary};

/// Members whose configurations are read and put at once: MGN throttles its API per
/// account, and each member is two to four calls.
pub const MEMBERS_IN_FLIGHT: usize = 4;

/// Members whose calls are made before the next ones are set up.
pub const MEMBERS_PER_BATCH: usize = 64;

/// What became of one of a member's configurations.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Put {
    /// The plan asks nothing of it: the ledger forgets it.
    Unwanted,
    /// Put already for the same wanted settings (or a dry run): nothing to record.
    Settled,
    /// Now holds the wanted settings (`changed`: a call changed it).
    Held { digest: Digest, changed: bool },
}

/// What one member came to.
enum Member {
    Done {
        launch: Put,
        replication: Put,
        template: Option<String>,
    },
    Deferred,
    Failed(AwsCallError),
}

/// Puts each member's settings; one `AppConfigured` per application and
/// configuration changed. The launch templates MGN named on the way are kept in
/// `known_templates`. Returns the calls that failed.
pub async fn configure(
    context: &Context<MgnPlannerConfig>,
    (wave, apps): (&DesiredWave, &[HeldApplication]),
    version: &str,
    (ledger, summary, known_templates): (&mut PlannerLedger, &mut Summary, &mut KnownTemplates),
) -> Vec<AwsCallError> {
    let members: Vec<(&str, &DesiredServer)> = wave
        .apps
        .iter()
        .flat_map(|app| app.servers().map(move |m| (app.name.as_str(), m)))
        .collect();
    let books = &*ledger;
    let mut outcomes: Vec<Member> = Vec::with_capacity(members.len());
    // A batch's calls are made before the next batch's futures exist: 25,000 of them
    // at once would hold every member's state machine in memory.
    for batch in members.chunks(MEMBERS_PER_BATCH) {
        let asks: Vec<_> = batch
            .iter()
            .map(|(_, member)| async move {
                if near_deadline() {
                    return Member::Deferred;
                }
                match configure_member(context, member, books).await {
                    Ok(done) => done,
                    Err(error) => Member::Failed(error),
                }
            })
            .collect();
        outcomes.extend(
            stream::iter(asks)
                .buffered(MEMBERS_IN_FLIGHT)
                .collect::<Vec<_>>()
                .await,
        );
    }
    let mut errors = Vec::new();
    let mut changed: Vec<(&str, PlannedConfiguration)> = Vec::new();
    for ((app, member), outcome) in members.iter().zip(outcomes) {
        let (launch, replication, template) = match outcome {
            Member::Done {
                launch,
                replication,
                template,
            } => (launch, replication, template),
            Member::Deferred => {
                summary.changes_deferred += 1;
                continue;
            }
            Member::Failed(error) => {
                errors.push(error);
                continue;
            }
        };
        let id = &member.server_id;
        if let Some(template) = template {
            known_templates.insert(id.clone(), template);
        }
        let mut note = |configuration: PlannedConfiguration| {
            if !changed.contains(&(*app, configuration)) {
                changed.push((app, configuration));
            }
        };
        if record(&mut ledger.mgn_launch, id, launch) {
            summary.launch_configured += 1;
            note(PlannedConfiguration::Launch);
        }
        if record(&mut ledger.mgn_replication, id, replication) {
            summary.replication_configured += 1;
            note(PlannedConfiguration::Replication);
        }
    }
    for (app, configuration) in changed {
        let configured = configured(app, apps, configuration, version);
        ledger.outbox.push(OutgoingEvent::new(configured, false));
    }
    errors
}

/// Keeps in `books` what became of one configuration; whether a call changed it.
fn record(
    books: &mut std::collections::BTreeMap<ServerId, Digest>,
    id: &ServerId,
    put: Put,
) -> bool {
    match put {
        Put::Unwanted => {
            books.remove(id);
            false
        }
        Put::Settled => false,
        Put::Held { digest, changed } => {
            books.insert(id.clone(), digest);
            changed
        }
    }
}

/// Puts what the plan wants of one member's launch and replication configurations,
/// each unless its digest says it was put already.
async fn configure_member(
    context: &Context<MgnPlannerConfig>,
    member: &DesiredServer,
    ledger: &PlannerLedger,
) -> Result<Member, AwsCallError> {
    let (client, id) = (&context.mgn, &member.server_id);
    let mut template = None;
    let launch = match MgnLaunch::wanted(&member.launch) {
        None => Put::Unwanted,
        Some(wanted)
            if ledger.mgn_launch.get(id) != Some(&wanted.digest()) && !context.dry_run() =>
        {
            let held = mgn::configurations::launch(client, id).await?;
            template = held.template_id;
            let change = wanted.change_from(&held.settings);
            if let Some(change) = &change {
                mgn::configurations::update_launch(client, id, change).await?;
            }
            Put::Held {
                digest: wanted.digest(),
                changed: change.is_some(),
            }
        }
        Some(_) => Put::Settled,
    };
    let replication = match MgnReplication::wanted(&member.replication) {
        None => Put::Unwanted,
        Some(wanted)
            if ledger.mgn_replication.get(id) != Some(&wanted.digest()) && !context.dry_run() =>
        {
            let held = mgn::configurations::replication(client, id).await?;
            let change = wanted.change_from(&held);
            if let Some(change) = &change {
                mgn::configurations::update_replication(client, id, change).await?;
            }
            Put::Held {
                digest: wanted.digest(),
                changed: change.is_some(),
            }
        }
        Some(_) => Put::Settled,
    };
    Ok(Member::Done {
        launch,
        replication,
        template,
    })
}
