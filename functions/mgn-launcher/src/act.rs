//! Each step the launcher decided, done: the launches claimed in the books (stored)
//! before they are asked for, a few at a time; a passed launch marked and its test copies terminated, or its
//! cutover finalized; a failed one reverted, its copies terminated and alerted once;
//! servers archived; holds reported once per reason. A call that a run cut off may
//! have made already is only made for servers not yet where it puts them, so a run
//! repeating a step repeats no change.

use autopilot_core::artifacts::StateObject;
use autopilot_core::config::MgnLauncherConfig;
use autopilot_core::cutover::{AppMove, CutoverLedger, Launch, LaunchKind, MoveStage, Step};
use autopilot_core::events::{
    server_subject, AppArchived, AppCutOver, AppLaunchCheckFailed, AppLaunchPassed,
    AppLaunchStarted, AppMoveHeld, AppMoveResumed, OutgoingEvent,
};
use autopilot_core::mgn::launch;
use autopilot_core::migration::CutoverPhase;
use autopilot_core::model::ServerId;
use autopilot_core::runtime::Context;
use autopilot_core::AutopilotError;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};

use crate::observe::{release, PlannedApp};
use crate::Summary;

/// What one step needs besides the application.
pub struct Doing<'a> {
    pub context: &'a Context<MgnLauncherConfig>,
    pub object: &'a StateObject<'a>,
    pub now: DateTime<Utc>,
    pub dry_run: bool,
}

/// Launches asked for at once: MGN throttles its API per account.
const LAUNCHES_IN_FLIGHT: usize = 4;

/// A launch claimed in the books this run, asked for once every claim is stored.
pub struct Claim<'a> {
    app: &'a PlannedApp,
    kind: LaunchKind,
    attempt: u32,
}

/// Does `step` for `app`, keeping the books in `ledger` and counting in `summary`; a
/// launch is claimed and joins `claims`, to be asked for by [`start_claimed`].
pub async fn take<'a>(
    doing: &Doing<'_>,
    (ledger, claims): (&mut CutoverLedger, &mut Vec<Claim<'a>>),
    app: &'a PlannedApp,
    step: Step,
    summary: &mut Summary,
) -> Result<(), AutopilotError> {
    if !matches!(step, Step::Hold(_)) {
        if let Some(reason) = books(ledger, app).held.take() {
            summary.resumed += 1;
            let resumed = AppMoveResumed {
                app_name: app.name.clone(),
                reason,
            };
            ledger
                .outbox
                .push(OutgoingEvent::new(resumed, doing.dry_run));
        }
    }
    match step {
        Step::Wait(_) => summary.waiting += 1,
        Step::Done => summary.done += 1,
        Step::Watch { first_launched } => {
            summary.launches_watched += 1;
            if first_launched {
                if let Some(launch) = launch_of(books(ledger, app)) {
                    launch.launched_at = Some(doing.now);
                }
            }
        }
        Step::Retest { server } => {
            tracing::info!(app = %app.name, %server, "its test no longer stands: tested again");
            books(ledger, app).stage = MoveStage::AwaitingTest;
        }
        Step::Hold(reason) => hold(ledger, app, reason, doing.dry_run, summary),
        Step::Start { kind, attempt } => {
            claims.extend(claim(doing, ledger, (app, kind, attempt), summary).await?);
        }
        Step::Pass { kind, instances } => {
            pass(doing, ledger, app, kind, instances, summary).await?
        }
        Step::Fail {
            kind,
            attempt,
            server,
            reason,
            give_up,
        } => {
            let failure = Failure {
                kind,
                attempt,
                server,
                reason,
                give_up,
            };
            fail(doing, ledger, app, failure, summary).await?;
        }
        Step::Archive => archive(doing, ledger, app, summary).await?,
    }
    Ok(())
}

fn books<'l>(ledger: &'l mut CutoverLedger, app: &PlannedApp) -> &'l mut AppMove {
    ledger.apps.entry(app.name.clone()).or_default()
}

fn launch_of(books: &mut AppMove) -> Option<&mut Launch> {
    match &mut books.stage {
        MoveStage::Testing(launch) | MoveStage::CuttingOver(launch) => Some(launch),
        _ => None,
    }
}

fn hold(
    ledger: &mut CutoverLedger,
    app: &PlannedApp,
    reason: String,
    dry_run: bool,
    summary: &mut Summary,
) {
    summary.held += 1;
    let held_books = books(ledger, app);
    if held_books.held.as_deref() == Some(reason.as_str()) {
        return;
    }
    held_books.held = Some(reason.clone());
    summary.holds_reported += 1;
    let held = AppMoveHeld {
        app_name: app.name.clone(),
        reason,
    };
    ledger.outbox.push(OutgoingEvent::new(held, dry_run));
}

/// Makes each member template's version for this launch the default (a test network's
/// or the cutover's) and claims the launch in the books; a dry run only announces it.
async fn claim<'a>(
    doing: &Doing<'_>,
    ledger: &mut CutoverLedger,
    (app, kind, attempt): (&'a PlannedApp, LaunchKind, u32),
    summary: &mut Summary,
) -> Result<Option<Claim<'a>>, AutopilotError> {
    if doing.dry_run {
        summary.launches_started += 1;
        let started = started(app, kind, attempt, None);
        ledger.outbox.push(OutgoingEvent::new(started, true));
        return Ok(None);
    }
    for versions in &app.switched_templates {
        let version = match kind {
            LaunchKind::Test => versions.test.unwrap_or(versions.cutover),
            LaunchKind::Cutover => versions.cutover,
        };
        doing
            .context
            .ec2
            .set_default_template_version(&versions.template_id, version)
            .await?;
    }
    let claim = Launch {
        attempt,
        claimed_at: doing.now,
        job_id: None,
        launched_at: None,
    };
    let claimed = books(ledger, app);
    match kind {
        LaunchKind::Test => {
            claimed.test_attempts = attempt;
            claimed.stage = MoveStage::Testing(claim);
        }
        LaunchKind::Cutover => {
            claimed.cutover_attempts = attempt;
            claimed.stage = MoveStage::CuttingOver(claim);
        }
    }
    Ok(Some(Claim { app, kind, attempt }))
}

/// Stores every claim at once, then asks MGN for the launches, [`LAUNCHES_IN_FLIGHT`] at
/// a time: each asked for records its job and is announced, each refused or failed lets
/// its claim go. A run stopped in between leaves claims the next run matches to the jobs
/// MGN started, or lets go.
pub async fn start_claimed(
    doing: &Doing<'_>,
    ledger: &mut CutoverLedger,
    claims: Vec<Claim<'_>>,
    summary: &mut Summary,
) -> Vec<AutopilotError> {
    if claims.is_empty() {
        return Vec::new();
    }
    if let Err(error) = doing.object.store(&*ledger).await {
        for claim in &claims {
            release(books(ledger, claim.app), claim.kind);
        }
        return vec![error];
    }
    let mgn = &doing.context.mgn;
    // Collected first: a stream over a closure of borrowed claims is not Send.
    let asks: Vec<_> = claims
        .iter()
        .map(|claim| launch::start_launch(mgn, claim.kind, &claim.app.ids))
        .collect();
    let answers: Vec<_> = stream::iter(asks)
        .buffered(LAUNCHES_IN_FLIGHT)
        .collect()
        .await;
    let mut errors = Vec::new();
    for (claim, answer) in claims.iter().zip(answers) {
        let claimed = books(ledger, claim.app);
        match answer {
            Ok(job_id) => {
                if let Some(launch) = launch_of(claimed) {
                    launch.job_id = Some(job_id.clone());
                }
                summary.launches_started += 1;
                let started = started(claim.app, claim.kind, claim.attempt, Some(job_id));
                ledger.outbox.push(OutgoingEvent::new(started, false));
            }
            Err(error) => {
                tracing::warn!(app = %claim.app.name, %error, "launch not started; tried again next run");
                release(claimed, claim.kind);
                errors.push(error.into());
            }
        }
    }
    errors
}

fn started(
    app: &PlannedApp,
    kind: LaunchKind,
    attempt: u32,
    job_id: Option<String>,
) -> AppLaunchStarted {
    AppLaunchStarted {
        app_name: app.name.clone(),
        kind,
        attempt,
        job_id,
        servers: app.ids.clone(),
    }
}

/// The servers of `app` in `phase`, as this invocation listed them.
fn in_phase(app: &PlannedApp, phase: CutoverPhase) -> Vec<ServerId> {
    app.members
        .iter()
        .filter(|member| member.cutover.phase == phase)
        .map(|member| member.id.clone())
        .collect()
}

/// A passed test: its servers marked ready for cutover, its copies terminated. A
/// passed cutover: finalized.
async fn pass(
    doing: &Doing<'_>,
    ledger: &mut CutoverLedger,
    app: &PlannedApp,
    kind: LaunchKind,
    instances: Vec<String>,
    summary: &mut Summary,
) -> Result<(), AutopilotError> {
    let mgn = &doing.context.mgn;
    if !doing.dry_run {
        match kind {
            LaunchKind::Test => {
                for server in in_phase(app, CutoverPhase::Testing) {
                    launch::mark_ready_for(mgn, &server, LaunchKind::Cutover).await?;
                }
                launch::terminate_copies(mgn, &app.ids).await?;
            }
            LaunchKind::Cutover => {
                for server in in_phase(app, CutoverPhase::CuttingOver) {
                    launch::finalize_cutover(mgn, &server).await?;
                }
            }
        }
    }
    summary.launches_passed += 1;
    let passed_books = books(ledger, app);
    let (attempt, job_id) =
        launch_of(passed_books).map_or((0, None), |l| (l.attempt, l.job_id.clone()));
    if !doing.dry_run {
        passed_books.stage = match kind {
            LaunchKind::Test => MoveStage::TestPassed,
            LaunchKind::Cutover => MoveStage::CutOver,
        };
    }
    let passed = AppLaunchPassed {
        app_name: app.name.clone(),
        kind,
        attempt,
        job_id,
        instances,
    };
    ledger
        .outbox
        .push(OutgoingEvent::new(passed, doing.dry_run));
    if kind == LaunchKind::Cutover {
        let cut_over = AppCutOver {
            app_name: app.name.clone(),
            attempt,
            servers: app.ids.clone(),
        };
        ledger
            .outbox
            .push(OutgoingEvent::new(cut_over, doing.dry_run));
    }
    Ok(())
}

/// A failed launch as decided.
struct Failure {
    kind: LaunchKind,
    attempt: u32,
    server: Option<ServerId>,
    reason: String,
    give_up: bool,
}

/// A failed launch: its servers reverted to ready for it again, whatever it launched
/// terminated, the failure alerted once; left to a person when the budget is spent.
async fn fail(
    doing: &Doing<'_>,
    ledger: &mut CutoverLedger,
    app: &PlannedApp,
    failure: Failure,
    summary: &mut Summary,
) -> Result<(), AutopilotError> {
    let mgn = &doing.context.mgn;
    let (launching, back_to) = match failure.kind {
        LaunchKind::Test => (CutoverPhase::Testing, LaunchKind::Test),
        LaunchKind::Cutover => (CutoverPhase::CuttingOver, LaunchKind::Cutover),
    };
    if !doing.dry_run {
        for server in in_phase(app, launching) {
            launch::mark_ready_for(mgn, &server, back_to).await?;
        }
        launch::terminate_copies(mgn, &app.ids).await?;
    }
    summary.launches_failed += 1;
    let failed_books = books(ledger, app);
    let job_id = launch_of(failed_books).and_then(|l| l.job_id.clone());
    if !doing.dry_run {
        release_after_failure(failed_books, failure.kind);
        if failure.give_up {
            summary.given_up += 1;
            failed_books.given_up = Some(format!(
                "its {} failed {} times, the launch budget is spent: {}",
                failure.kind.as_str(),
                failure.attempt,
                failure.reason
            ));
        }
    }
    let vm_name = failure.server.as_ref().and_then(|s| app.name_of(s));
    let subject = match &failure.server {
        Some(server) => server_subject(vm_name.as_deref(), server, Some(&app.name)),
        None => format!("application {}", app.name),
    };
    let alert = AppLaunchCheckFailed {
        app_name: app.name.clone(),
        kind: failure.kind,
        attempt: failure.attempt,
        job_id,
        vm_name,
        subject,
        server_id: failure.server,
        reason: failure.reason,
        left_to_a_person: failure.give_up,
    };
    ledger.outbox.push(OutgoingEvent::new(alert, doing.dry_run));
    Ok(())
}

/// After a failed launch the application awaits the same launch again (its attempts
/// kept: they count against the budget).
fn release_after_failure(books: &mut AppMove, kind: LaunchKind) {
    books.stage = match kind {
        LaunchKind::Test => MoveStage::AwaitingTest,
        LaunchKind::Cutover => MoveStage::TestPassed,
    };
}

/// Archives the members MGN still lists.
async fn archive(
    doing: &Doing<'_>,
    ledger: &mut CutoverLedger,
    app: &PlannedApp,
    summary: &mut Summary,
) -> Result<(), AutopilotError> {
    if !doing.dry_run {
        for member in &app.members {
            launch::archive(&doing.context.mgn, &member.id).await?;
        }
        books(ledger, app).stage = MoveStage::Archived;
    }
    summary.archived += 1;
    let archived = AppArchived {
        app_name: app.name.clone(),
        servers: app.ids.clone(),
    };
    ledger
        .outbox
        .push(OutgoingEvent::new(archived, doing.dry_run));
    Ok(())
}
