//! Apps read with GetApp (members, tags), remembered across invocations and trusted only
//! while ListApps still shows the same version of the app. A warm execution environment
//! keeps them in memory; cold ones share them through the artifacts bucket
//! (`INDEX_KEY`), so neither the launcher's sweeps nor the generator's many events
//! re-read every app.
//!
//! An app's version is its `lastModified` with its server and group counts, taken from
//! the same GetApp answer as the members. SMS moves `lastModified` on every change to an
//! app (members, tags, launch), so a remembered app whose version still matches this
//! invocation's listing is what GetApp would answer now, short of two changes inside
//! one tick of that timestamp with a read between them. An app without `lastModified`
//! is never remembered. The launcher reads an app again before launching it, so that
//! narrow case can delay a change set but never cause a launch.
//!
//! Apps are handed out as `Arc<App>`: the cache and its callers share one copy, which
//! at 5,000 applications of 100,000 members is most of what the functions hold.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_sms::types::AppSummary;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::artifacts;
use crate::error::AwsCallError;
use crate::model::{App, AppId, AppVersion};
use crate::sms::api;
use crate::sms::convert;

/// Where the remembered apps are shared, in the artifacts bucket.
pub const INDEX_KEY: &str = "state/apps/index.json";

/// One GetApp answer and when it was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Remembered {
    version: AppVersion,
    read_at: DateTime<Utc>,
    app: Arc<App>,
}

impl Remembered {
    fn trusted_for(&self, listed: &AppVersion) -> bool {
        self.version.last_modified.is_some() && self.version == *listed
    }
}

/// The shared object: remembered apps by id.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    apps: BTreeMap<AppId, Remembered>,
}

#[derive(Debug, Default)]
struct State {
    index: Index,
    /// Entries added or dropped since the index was last loaded or saved.
    changed: bool,
}

/// The listed apps `keep` takes, each with its id (a summary without one is skipped).
pub fn listed_with_ids(
    listing: &[AppSummary],
    keep: impl Fn(&AppSummary) -> bool,
) -> Vec<(AppId, AppSummary)> {
    listing
        .iter()
        .filter(|summary| keep(summary))
        .filter_map(|summary| Some((AppId::from(summary.app_id()?), summary.clone())))
        .collect()
}

/// Remembered apps; see the module documentation for when one is trusted.
#[derive(Debug, Default)]
pub struct AppCache(Mutex<State>);

impl AppCache {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The remembered app `id` when its version matches `listed`, its summary.
    pub fn trusted(&self, id: &AppId, listed: &AppSummary) -> Option<Arc<App>> {
        let version = convert::app_version(listed);
        self.state()
            .index
            .apps
            .get(id)
            .filter(|entry| entry.trusted_for(&version))
            .map(|entry| Arc::clone(&entry.app))
    }

    /// GetApp, remembering the answer with the version it carried.
    pub async fn read(
        &self,
        sms: &aws_sdk_sms::Client,
        id: &AppId,
        now: DateTime<Utc>,
    ) -> Result<Arc<App>, AwsCallError> {
        let (app, version) = api::app(sms, id).await?;
        let app = Arc::new(app);
        let mut state = self.state();
        state.index.apps.insert(
            id.clone(),
            Remembered {
                version,
                read_at: now,
                app: Arc::clone(&app),
            },
        );
        state.changed = true;
        Ok(app)
    }

    /// The trusted app, else GetApp; says whether it called.
    pub async fn get(
        &self,
        sms: &aws_sdk_sms::Client,
        id: &AppId,
        listed: &AppSummary,
        now: DateTime<Utc>,
    ) -> Result<(Arc<App>, bool), AwsCallError> {
        if let Some(app) = self.trusted(id, listed) {
            return Ok((app, false));
        }
        Ok((self.read(sms, id, now).await?, true))
    }

    /// Reads the shared index when memory cannot vouch for one of `needed`, keeping for
    /// each app the later of the two answers. The index only saves calls: an index that
    /// cannot be read is reported and the apps are read from SMS instead.
    async fn load_if_needed(
        &self,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        needed: &[(AppId, AppSummary)],
    ) -> bool {
        if needed
            .iter()
            .all(|(id, listed)| self.trusted(id, listed).is_some())
        {
            return false;
        }
        let shared: Index =
            match artifacts::load_json(s3, bucket, INDEX_KEY, "remembered apps").await {
                Ok(index) => index,
                Err(error) => {
                    tracing::warn!(%error, "remembered apps not loaded; reading them from SMS");
                    return false;
                }
            };
        let mut state = self.state();
        for (id, entry) in shared.apps {
            match state.index.apps.get(&id) {
                Some(mine) if mine.read_at >= entry.read_at => {}
                _ => {
                    state.index.apps.insert(id, entry);
                }
            }
        }
        true
    }

    /// Forgets apps no longer listed, then writes the index back if anything changed.
    /// A failed write is reported and costs only calls later.
    async fn save_if_changed(&self, s3: &aws_sdk_s3::Client, bucket: &str, listed: &[AppSummary]) {
        // Written out under the lock rather than copied: the bytes are the only copy.
        let body = {
            let mut state = self.state();
            let present: BTreeSet<&str> = listed.iter().filter_map(AppSummary::app_id).collect();
            let before = state.index.apps.len();
            state
                .index
                .apps
                .retain(|id, _| present.contains(id.as_str()));
            if !state.changed && state.index.apps.len() == before {
                return;
            }
            state.changed = false;
            serde_json::to_vec(&state.index).expect("remembered apps are plain data")
        };
        let stored = artifacts::store_bytes(s3, bucket, INDEX_KEY, "application/json", body).await;
        if let Err(error) = stored {
            tracing::warn!(%error, "remembered apps not saved");
            self.state().changed = true;
        }
    }

    /// The one bracket around reading apps: the shared index loaded when memory
    /// cannot vouch for one of `wanted`, `visit` run on each of them `concurrency` at a
    /// time (it reads its app with [`AppCache::get`]), then the index saved, forgetting
    /// the apps `listing` (this run's ListApps) no longer shows. The answers come in
    /// `wanted`'s order.
    pub async fn visit<T, Fut>(
        &self,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        listing: &[AppSummary],
        wanted: Vec<(AppId, AppSummary)>,
        concurrency: usize,
        visit: impl Fn(AppId, AppSummary) -> Fut,
    ) -> Vec<T>
    where
        Fut: Future<Output = T>,
    {
        self.load_if_needed(s3, bucket, &wanted).await;
        let answers = stream::iter(wanted)
            .map(|(id, summary)| visit(id, summary))
            .buffered(concurrency.max(1))
            .collect()
            .await;
        self.save_if_changed(s3, bucket, listing).await;
        answers
    }

    /// Every listed app with its members, through [`AppCache::visit`]. Each app comes
    /// with its listing and its own result, so one app that cannot be read does not
    /// hide the others.
    pub async fn read_all(
        &self,
        sms: &aws_sdk_sms::Client,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        listed: &[AppSummary],
        concurrency: usize,
        now: DateTime<Utc>,
    ) -> Vec<(AppSummary, Result<Arc<App>, AwsCallError>)> {
        let wanted = listed_with_ids(listed, |_| true);
        self.visit(
            s3,
            bucket,
            listed,
            wanted,
            concurrency,
            |id, summary| async move {
                let app = self.get(sms, &id, &summary, now).await.map(|(app, _)| app);
                (summary, app)
            },
        )
        .await
    }

    /// Moves the entries out (a test hands a warm cache to a new context with it).
    pub fn take(&self) -> Self {
        let mut state = self.state();
        Self(Mutex::new(std::mem::take(&mut *state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, MemoryBucket};
    use aws_sdk_sms::operation::get_app::GetAppOutput;
    use aws_sdk_sms::types::{Server, ServerGroup};
    use aws_smithy_mocks::{mock, Rule};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid")
    }

    fn listed(id: &str, modified: Option<i64>, servers: i32) -> AppSummary {
        AppSummary::builder()
            .app_id(id)
            .launch_status(aws_sdk_sms::types::AppLaunchStatus::ReadyForLaunch)
            .set_last_modified(
                modified.map(|s| aws_smithy_types::DateTime::from_secs(at(s).timestamp())),
            )
            .total_servers(servers)
            .total_server_groups(1)
            .build()
    }

    /// GetApp answering `members` with the summary `listed(id, modified, members)`.
    fn get_app(modified: Option<i64>, members: &'static [&'static str]) -> Rule {
        mock!(aws_sdk_sms::Client::get_app).then_compute_output(move |req| {
            let id = req.app_id().expect("app id");
            let mut group = ServerGroup::builder().server_group_id("sg-1");
            for member in members {
                group = group.server_list(Server::builder().server_id(*member).build());
            }
            GetAppOutput::builder()
                .app_summary(listed(id, modified, members.len() as i32))
                .server_groups(group.build())
                .build()
        })
    }

    #[tokio::test]
    async fn an_app_is_trusted_only_while_the_listing_shows_the_version_read() {
        let rule = get_app(Some(0), &["s-1", "s-2"]);
        let sms = testing::mock_sms(&[&rule]);
        let cache = AppCache::default();
        let id = AppId::from("app-1");
        let app = cache.read(&sms, &id, at(60)).await.expect("GetApp");
        assert_eq!(app.member_ids().len(), 2);

        assert_eq!(cache.trusted(&id, &listed("app-1", Some(0), 2)), Some(app));
        assert!(
            cache.trusted(&id, &listed("app-1", Some(5), 2)).is_none(),
            "modified since"
        );
        assert!(
            cache.trusted(&id, &listed("app-1", Some(0), 3)).is_none(),
            "a member more"
        );
        assert!(
            cache.trusted(&id, &listed("app-1", None, 2)).is_none(),
            "no version"
        );
        assert!(cache
            .trusted(&AppId::from("app-2"), &listed("app-2", Some(0), 2))
            .is_none());

        let (_, called) = cache
            .get(&sms, &id, &listed("app-1", Some(0), 2), at(90))
            .await
            .unwrap();
        assert!(!called);
        let (_, called) = cache
            .get(&sms, &id, &listed("app-1", Some(5), 2), at(90))
            .await
            .unwrap();
        assert!(called, "a changed app is read again");
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn an_app_without_last_modified_is_never_remembered() {
        let none = get_app(None, &["s-1"]);
        let cache = AppCache::default();
        let id = AppId::from("app-1");
        cache
            .read(&testing::mock_sms(&[&none]), &id, at(100))
            .await
            .unwrap();
        assert!(cache.trusted(&id, &listed("app-1", None, 1)).is_none());
    }

    #[tokio::test]
    async fn the_shared_index_is_read_only_when_memory_lacks_an_app_and_written_only_on_change() {
        let bucket = MemoryBucket::default();
        let rule = get_app(Some(0), &["s-1"]);
        let sms = testing::mock_sms(&[&rule]);
        let one = listed("app-1", Some(0), 1);
        let two = listed("app-2", Some(0), 1);
        let needed = [
            (AppId::from("app-1"), one.clone()),
            (AppId::from("app-2"), two.clone()),
        ];

        // A cold environment finds nothing, reads both apps and shares them.
        let (s3, get, put) = bucket.client();
        let first = AppCache::default();
        assert!(first.load_if_needed(&s3, "b", &needed).await);
        for (id, summary) in &needed {
            first.get(&sms, id, summary, at(60)).await.unwrap();
        }
        first
            .save_if_changed(&s3, "b", &[one.clone(), two.clone()])
            .await;
        assert_eq!(
            (get.num_calls(), put.num_calls(), rule.num_calls()),
            (1, 1, 2)
        );
        first
            .save_if_changed(&s3, "b", &[one.clone(), two.clone()])
            .await;
        assert_eq!(put.num_calls(), 1, "nothing changed, nothing written");

        // Another cold environment takes both from the index: no GetApp.
        let (s3, get, put) = bucket.client();
        let second = AppCache::default();
        assert!(second.load_if_needed(&s3, "b", &needed).await);
        for (id, summary) in &needed {
            let (_, called) = second.get(&sms, id, summary, at(120)).await.unwrap();
            assert!(!called);
        }
        assert_eq!(rule.num_calls(), 2);
        // Warm now: the index is not read again.
        assert!(!second.load_if_needed(&s3, "b", &needed).await);
        assert_eq!(get.num_calls(), 1);

        // app-2 deleted: forgotten, and the index rewritten without it.
        second
            .save_if_changed(&s3, "b", std::slice::from_ref(&one))
            .await;
        assert_eq!(put.num_calls(), 1);
        let stored: Index = bucket.json(INDEX_KEY).expect("index");
        assert_eq!(
            stored.apps.keys().map(AppId::as_str).collect::<Vec<_>>(),
            ["app-1"]
        );
    }

    #[tokio::test]
    async fn the_later_answer_wins_when_memory_and_index_disagree() {
        let bucket = MemoryBucket::default();
        let (s3, _, _) = bucket.client();
        let old = get_app(Some(0), &["s-1"]);
        let new = get_app(Some(30), &["s-1", "s-2"]);
        let id = AppId::from("app-1");

        let stale = AppCache::default();
        stale
            .read(&testing::mock_sms(&[&old]), &id, at(10))
            .await
            .unwrap();
        let fresh = AppCache::default();
        fresh
            .read(&testing::mock_sms(&[&new]), &id, at(40))
            .await
            .unwrap();
        fresh
            .save_if_changed(&s3, "b", &[listed("app-1", Some(30), 2)])
            .await;

        let now_listed = listed("app-1", Some(30), 2);
        assert!(
            stale
                .load_if_needed(&s3, "b", &[(id.clone(), now_listed.clone())])
                .await
        );
        let app = stale
            .trusted(&id, &now_listed)
            .expect("the index's later answer");
        assert_eq!(app.member_ids().len(), 2);

        // An index that cannot be parsed is reported and ignored, not fatal.
        bucket.put(INDEX_KEY, b"not json".to_vec());
        let cold = AppCache::default();
        assert!(
            !cold
                .load_if_needed(&s3, "b", &[(id.clone(), now_listed.clone())])
                .await
        );
        assert!(cold.trusted(&id, &now_listed).is_none());
    }
}
