//! One run of a function at a time, without reserved concurrency: a lease object in the
//! artifacts bucket, `state/<function>/lease.json`, taken and handed back with S3
//! conditional writes (`If-None-Match: *` the first time, `If-Match` on the ETag just
//! read after that), so of two runs that read the same lease only one writes it.
//!
//! A lease lasts until its holder's deadline and a margin. Lambda stops an invocation at
//! its timeout, so a holder that is killed, cut off or merely slow can no longer act once
//! its lease has ended, and a lease is never taken from a live holder. The price is that
//! a killed run keeps the function's next runs waiting until its deadline has passed.
//!
//! A run that finds the lease held writes into it, on the same condition, that it asked
//! for a rerun. The holder's hand-back is then refused (the ETag changed), it reads the
//! request and, instead of handing the lease back, takes it again at once and passes
//! once more. So what started the run that found the lease held is acted on right after
//! the run that held it, as Lambda's retry of a throttled invocation would, with one
//! object, no deletes and no clocks compared (the local wave's clock stands still while
//! a round runs).
//!
//! A run whose write is refused because another took the lease after it looked, and
//! that finds the other has already handed it back, is answered: that pass started
//! after its look. Many runs at once would otherwise chase one lease after another.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::artifacts::{self, WriteCondition};
use crate::error::AutopilotError;

/// How long a lease outlasts its holder's deadline: a write the holder sent just before
/// it has been applied by then, and Lambda hosts' clocks agree far more closely.
pub const MARGIN: TimeDelta = TimeDelta::seconds(10);
/// A lease's term when its holder's deadline is unknown (tests, the local wave's
/// uncut invocations): Lambda's longest timeout.
pub const UNKNOWN_DEADLINE_TERM: TimeDelta = TimeDelta::minutes(15);

/// The lease object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseRecord {
    /// The run holding it, in words for the logs (`aws.events Scheduled Event <id>`).
    pub holder: String,
    /// Drawn at random for each taking: tells this taking's writes from any other's.
    pub token: String,
    pub taken_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Handed back by its holder before it ended.
    pub released: bool,
    /// A run that found the lease held and asked the holder to pass once more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_asked_by: Option<String>,
}

impl LeaseRecord {
    /// A new taking by `holder` from `now` for `term`.
    fn new(holder: &str, now: DateTime<Utc>, term: TimeDelta) -> Self {
        Self {
            holder: holder.to_owned(),
            token: format!("{:016x}", fastrand::u64(..)),
            taken_at: now,
            expires_at: now + term,
            released: false,
            rerun_asked_by: None,
        }
    }

    /// Whether a run may take the lease at `now`.
    pub fn free_at(&self, now: DateTime<Utc>) -> bool {
        self.released || self.expires_at <= now
    }
}

/// A lease this run holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    etag: String,
    pub record: LeaseRecord,
}

/// A lease another run holds, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLease {
    etag: String,
    pub record: LeaseRecord,
}

/// What an attempt to take the lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taking {
    Taken(Lease),
    Held(HeldLease),
    /// Another run took the lease after this one looked, and has already handed it back:
    /// its pass started after this run's look, so it saw all this run would have seen.
    Answered(LeaseRecord),
    /// Another run wrote the lease between this one's read and write; look again.
    Contended,
}

/// How handing a lease back ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandBack {
    Released,
    /// A run asked for a rerun: the lease is taken again for it (`by` names that run).
    TakenAgain {
        by: String,
        lease: Lease,
    },
    /// Another run had taken it: the holder outlived its term, which Lambda's timeout
    /// should make impossible.
    TakenOver,
}

/// The lease of one function.
pub struct LeaseStore<'a> {
    s3: &'a aws_sdk_s3::Client,
    bucket: &'a str,
    key: String,
}

impl<'a> LeaseStore<'a> {
    /// The lease of `function` (the deployed binary's name) in `bucket`.
    pub fn new(s3: &'a aws_sdk_s3::Client, bucket: &'a str, function: &str) -> Self {
        Self {
            s3,
            bucket,
            key: lease_key(function),
        }
    }

    /// Takes the lease for `term` from `now` if it is free.
    pub async fn take(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        term: TimeDelta,
    ) -> Result<Taking, AutopilotError> {
        let seen = self.look().await?;
        self.take_as_seen(seen, holder, now, term).await
    }

    /// Takes the lease for `term` from `now` if `seen`, the lease as this run last
    /// looked at it, is free; the write is refused if the lease changed since.
    pub async fn take_as_seen(
        &self,
        seen: Option<HeldLease>,
        holder: &str,
        now: DateTime<Utc>,
        term: TimeDelta,
    ) -> Result<Taking, AutopilotError> {
        let (condition, seen_token) = match seen {
            None => (WriteCondition::Absent, None),
            Some(found) if found.record.free_at(now) => (
                WriteCondition::Unchanged(found.etag),
                Some(found.record.token),
            ),
            Some(found) => return Ok(Taking::Held(found)),
        };
        let record = LeaseRecord::new(holder, now, term);
        if let Some(etag) = self.write(&record, condition).await? {
            return Ok(Taking::Taken(Lease { etag, record }));
        }
        // Refused: another run wrote first, or this run's write landed and its answer was
        // lost, so that the SDK's retry found the condition broken by the write itself.
        // A free lease changes only by being taken, so a released taking other than the
        // one seen was taken after this run looked and has finished its pass.
        Ok(match self.look().await? {
            Some(found) if found.record.token == record.token => Taking::Taken(Lease {
                etag: found.etag,
                record: found.record,
            }),
            Some(found) if !found.record.free_at(now) => Taking::Held(found),
            Some(found)
                if found.record.released && seen_token.as_ref() != Some(&found.record.token) =>
            {
                Taking::Answered(found.record)
            }
            _ => Taking::Contended,
        })
    }

    /// Asks the holder of `held` to pass once more: true when it will (asked now, or by
    /// another run before), false when the lease changed meanwhile and must be looked at
    /// again.
    pub async fn ask_rerun(&self, held: &HeldLease, by: &str) -> Result<bool, AutopilotError> {
        if held.record.rerun_asked_by.is_some() {
            return Ok(true);
        }
        let asked = LeaseRecord {
            rerun_asked_by: Some(by.to_owned()),
            ..held.record.clone()
        };
        let condition = WriteCondition::Unchanged(held.etag.clone());
        Ok(self.write(&asked, condition).await?.is_some())
    }

    /// Hands `lease` back. If a run asked for a rerun meanwhile and `again` gives the
    /// time and term of one, the lease is taken again for it instead; a request that is
    /// not honoured (no time or budget left) is left to the schedule.
    pub async fn hand_back(
        &self,
        lease: &Lease,
        again: Option<(DateTime<Utc>, TimeDelta)>,
    ) -> Result<HandBack, AutopilotError> {
        let mut etag = lease.etag.clone();
        // Each refusal means the lease changed; a holder's lease changes only by requests
        // for a rerun (one settles it) or by its own write whose answer was lost.
        for _ in 0..4 {
            let released = LeaseRecord {
                released: true,
                rerun_asked_by: None,
                ..lease.record.clone()
            };
            if self
                .write(&released, WriteCondition::Unchanged(etag))
                .await?
                .is_some()
            {
                return Ok(HandBack::Released);
            }
            let Some(found) = self.look().await? else {
                return Ok(HandBack::TakenOver);
            };
            if found.record.token != lease.record.token {
                return Ok(HandBack::TakenOver);
            }
            if found.record.released {
                return Ok(HandBack::Released);
            }
            if let (Some(by), Some((now, term))) = (&found.record.rerun_asked_by, again) {
                let record = LeaseRecord::new(&format!("rerun for {by}"), now, term);
                let condition = WriteCondition::Unchanged(found.etag.clone());
                if let Some(etag) = self.write(&record, condition).await? {
                    let lease = Lease { etag, record };
                    return Ok(HandBack::TakenAgain {
                        by: by.clone(),
                        lease,
                    });
                }
            }
            etag = found.etag;
        }
        Err(self.contended())
    }

    /// The key of the lease object.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The error for a lease that changed hands at every look.
    pub fn contended(&self) -> AutopilotError {
        AutopilotError::LeaseContended {
            bucket: self.bucket.to_owned(),
            key: self.key.clone(),
        }
    }

    async fn write(
        &self,
        record: &LeaseRecord,
        condition: WriteCondition,
    ) -> Result<Option<String>, AutopilotError> {
        Ok(artifacts::store_json_if(self.s3, self.bucket, &self.key, record, condition).await?)
    }

    /// The lease as it stands: its record and ETag, if it was ever taken.
    pub async fn look(&self) -> Result<Option<HeldLease>, AutopilotError> {
        let Some(tagged) = artifacts::load_tagged(self.s3, self.bucket, &self.key).await? else {
            return Ok(None);
        };
        let record = serde_json::from_slice(&tagged.bytes).map_err(|error| {
            AutopilotError::CorruptState {
                bucket: self.bucket.to_owned(),
                key: self.key.clone(),
                what: "lease",
                reason: error.to_string(),
            }
        })?;
        Ok(Some(HeldLease {
            etag: tagged.etag,
            record,
        }))
    }
}

/// Where `function` keeps its lease.
pub fn lease_key(function: &str) -> String {
    format!("state/{function}/lease.json")
}
