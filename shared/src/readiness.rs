//! Whether an app may be launched now: every member has a COMPLETED replication run,
//! the app is neither launched nor launching, it has a valid launch configuration, it is
//! not opted out (an opted-out app is still found ready, for its template), and
//! (separately) whether the clock is inside the launch window.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};
use serde::Serialize;

use crate::model::{App, ReplicationJob, ServerId};

use crate::migration::{LaunchPhase, ReplicationPhase};

/// The readiness of one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "readiness")]
pub enum AppReadiness {
    /// Every member has a completed run: launch it.
    Ready,
    /// Some members have no completed run yet, none of them failed.
    Waiting { pending: Vec<ServerId> },
    /// Some members without a completed run have a failed job: nothing will change
    /// until the failure is remediated.
    Blocked {
        failed: Vec<ServerId>,
        pending: Vec<ServerId>,
    },
    /// The service reports the app launched (fully or partially).
    AlreadyLaunched,
    /// A launch (or configuration, validation, termination) is under way.
    InProgress,
    /// Every member has a completed run, but the app carries the opt-out tag: a person
    /// launches it.
    OptedOut { reason: String },
    /// Every member has a completed run, but SMS launches nothing until the app has a
    /// valid launch configuration; the reason names what is missing.
    Unconfigured { reason: String },
    /// The app cannot be launched by the autopilot; the reason says why.
    NotLaunchable { reason: String },
}

/// An app tag that opts it out of automatic launch, e.g. `autopilot:launch=false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOutTag {
    pub key: String,
    pub value: String,
}

impl FromStr for OptOutTag {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok(Self {
                key: key.trim().to_owned(),
                value: value.trim().to_owned(),
            }),
            _ => Err(format!("`{input}` is not KEY=VALUE")),
        }
    }
}

impl fmt::Display for OptOutTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// A job as far as choosing the one that speaks for its server goes.
pub trait RankedJob {
    fn server(&self) -> &ServerId;
    fn phase(&self) -> ReplicationPhase;
    fn has_completed_run(&self) -> bool;

    /// How the job ranks when a server has more than one: jobs not removed win; among
    /// those, one with a completed run.
    fn rank(&self) -> (bool, bool) {
        (!self.phase().is_removed(), self.has_completed_run())
    }
}

impl RankedJob for ReplicationJob {
    fn server(&self) -> &ServerId {
        &self.server_id
    }

    fn phase(&self) -> ReplicationPhase {
        self.state.phase
    }

    fn has_completed_run(&self) -> bool {
        ReplicationJob::has_completed_run(self)
    }
}

/// How a job ranks among its server's jobs ([`RankedJob::rank`]).
type Rank = (bool, bool);

/// Keeps for `server` the better ranked of what `chosen` holds and `value`; the one
/// held wins a tie, so the first listed job speaks for its server.
fn keep_better<V>(
    chosen: &mut HashMap<ServerId, (Rank, V)>,
    server: &ServerId,
    rank: Rank,
    value: V,
) {
    match chosen.get_mut(server) {
        Some(current) if rank > current.0 => *current = (rank, value),
        Some(_) => {}
        None => {
            chosen.insert(server.clone(), (rank, value));
        }
    }
}

/// Picks, per server, the job that speaks for it: a server may have an old deleted job
/// next to its current one (see [`RankedJob::rank`]).
pub fn jobs_by_server<J: RankedJob>(jobs: &[J]) -> HashMap<ServerId, &J> {
    let mut chosen = HashMap::new();
    for job in jobs {
        keep_better(&mut chosen, job.server(), job.rank(), job);
    }
    chosen
        .into_iter()
        .map(|(server, (_, job))| (server, job))
        .collect()
}

/// Where a server's replication stands, as far as launching its app goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Its job has a completed run.
    Replicated,
    /// Its job is in a failure state and has no completed run.
    Failed,
    /// Its job has no completed run yet.
    Pending,
}

impl Standing {
    /// Where the job that speaks for a server leaves it.
    pub fn of<J: RankedJob>(job: &J) -> Self {
        // A deleted job's AMIs stay, but SMS launches an app from its members' current
        // jobs: a server whose job was deleted (app replication stopped) waits for a new one.
        if job.phase().is_removed() {
            Self::Pending
        } else if job.has_completed_run() {
            Self::Replicated
        } else if job.phase().is_failure() {
            Self::Failed
        } else {
            Self::Pending
        }
    }
}

/// Per server, the standing of the job that speaks for it (chosen as
/// [`jobs_by_server`] chooses), kept instead of the jobs: a launcher sweeping 100,000
/// jobs needs a byte per server, not the jobs and their runs.
#[derive(Debug, Clone, Default)]
pub struct ServerStandings {
    by_server: HashMap<ServerId, (Rank, Standing)>,
}

impl ServerStandings {
    /// Takes one job into account.
    pub fn add(&mut self, job: &ReplicationJob) {
        keep_better(
            &mut self.by_server,
            &job.server_id,
            job.rank(),
            Standing::of(job),
        );
    }

    /// The standing of a server's job; None for a server without a job.
    pub fn of(&self, server: &ServerId) -> Option<Standing> {
        self.by_server.get(server).map(|(_, standing)| *standing)
    }

    /// Servers with a job.
    pub fn len(&self) -> usize {
        self.by_server.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_server.is_empty()
    }
}

impl<'a> FromIterator<&'a ReplicationJob> for ServerStandings {
    fn from_iter<I: IntoIterator<Item = &'a ReplicationJob>>(jobs: I) -> Self {
        let mut standings = Self::default();
        jobs.into_iter().for_each(|job| standings.add(job));
        standings
    }
}

/// Computes an app's readiness from its launch status and its members' jobs.
pub fn app_readiness(app: &App, jobs: &ServerStandings, opt_out: &OptOutTag) -> AppReadiness {
    use LaunchPhase as P;
    match app.launch_status.phase {
        phase if phase.is_launchable() || phase.needs_configuration() => {}
        phase if phase.is_launched() => return AppReadiness::AlreadyLaunched,
        P::Launching | P::Validating | P::Terminating => return AppReadiness::InProgress,
        P::TerminationFailed => {
            return AppReadiness::NotLaunchable {
                reason: "its last termination failed".into(),
            }
        }
        _ => {
            return AppReadiness::NotLaunchable {
                reason: format!("unexpected launch status {}", app.launch_status),
            }
        }
    }
    let members = app.member_ids();
    if members.is_empty() {
        return AppReadiness::NotLaunchable {
            reason: "it has no member servers".into(),
        };
    }
    let mut pending = Vec::new();
    let mut failed = Vec::new();
    for member in members {
        match jobs.of(&member) {
            Some(Standing::Replicated) => {}
            Some(Standing::Failed) => failed.push(member),
            Some(Standing::Pending) | None => pending.push(member),
        }
    }
    let opted_out = app.tag(&opt_out.key) == Some(opt_out.value.as_str());
    match (failed.is_empty(), pending.is_empty()) {
        (true, true) if opted_out => AppReadiness::OptedOut {
            reason: format!("opted out by tag {opt_out}"),
        },
        (true, true) if app.launch_status.needs_configuration() => AppReadiness::Unconfigured {
            reason: unconfigured_reason(app),
        },
        (true, true) => AppReadiness::Ready,
        (true, false) => AppReadiness::Waiting { pending },
        (false, _) => AppReadiness::Blocked { failed, pending },
    }
}

/// What an app whose members are all replicated lacks before SMS can launch it.
fn unconfigured_reason(app: &App) -> String {
    if app.launch_status.phase == LaunchPhase::ConfigurationInvalid {
        let why = app
            .launch_status_message
            .as_deref()
            .unwrap_or("the service gave no reason");
        return format!("its launch configuration is invalid: {why}");
    }
    let servers = app.member_ids();
    format!(
        "it has no launch configuration: SMS needs an instance type, a subnet and a security \
         group for each of its {} servers ({}) before it launches anything",
        servers.len(),
        servers
            .iter()
            .map(ServerId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// When launches may happen, in UTC: `DAYS HH:MM-HH:MM`, where DAYS is `*`, a day
/// (`mon`), a range (`mon-fri`) or a comma list of those (`sat,sun`). The window opens
/// on the listed days; an end before the start runs past midnight into the next day
/// (`fri 22:00-02:00` is Friday 22:00 to Saturday 02:00). `24:00` means end of day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchWindow {
    days: [bool; 7],
    start_minute: u32,
    end_minute: u32,
}

impl FromStr for LaunchWindow {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |what: &str| format!("`{input}`: {what} (expected e.g. `mon-fri 22:00-06:00`)");
        let (days_part, hours_part) = input
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| fail("missing time range"))?;
        let mut days = [false; 7];
        for item in days_part.split(',') {
            if item == "*" {
                days = [true; 7];
                continue;
            }
            let (from, to) = item.split_once('-').unwrap_or((item, item));
            let from = parse_weekday(from).ok_or_else(|| fail("unknown day"))?;
            let to = parse_weekday(to).ok_or_else(|| fail("unknown day"))?;
            let mut day = from;
            loop {
                days[day.num_days_from_monday() as usize] = true;
                if day == to {
                    break;
                }
                day = day.succ();
            }
        }
        let (start, end) = hours_part
            .trim()
            .split_once('-')
            .ok_or_else(|| fail("time range must be HH:MM-HH:MM"))?;
        let start_minute = parse_minute(start).ok_or_else(|| fail("bad start time"))?;
        let end_minute = parse_minute(end).ok_or_else(|| fail("bad end time"))?;
        if start_minute == end_minute || start_minute == 24 * 60 {
            return Err(fail("empty time range"));
        }
        Ok(Self {
            days,
            start_minute,
            end_minute,
        })
    }
}

fn parse_weekday(name: &str) -> Option<Weekday> {
    name.trim().to_ascii_lowercase().parse::<Weekday>().ok()
}

fn parse_minute(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

impl LaunchWindow {
    /// Whether `at` falls inside the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let minute = at.hour() * 60 + at.minute();
        let today = at.weekday().num_days_from_monday() as usize;
        let yesterday = (today + 6) % 7;
        if self.start_minute < self.end_minute {
            self.days[today] && minute >= self.start_minute && minute < self.end_minute
        } else {
            (self.days[today] && minute >= self.start_minute)
                || (self.days[yesterday] && minute < self.end_minute)
        }
    }
}

#[cfg(test)]
mod tests;
