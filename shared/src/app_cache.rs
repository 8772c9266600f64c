//! Apps read with GetApp (members, tags), kept by a warm execution environment between
//! invocations so that the many events of a wave do not re-read every app. Entries
//! expire after `MEMBERSHIP_TTL`; callers re-read an app before acting on it.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::error::AwsCallError;
use crate::model::{App, AppId};
use crate::sms_api;

/// How long a cached app's membership and tags are trusted.
pub const MEMBERSHIP_TTL: Duration = Duration::minutes(15);

/// Apps by id, with when they were read.
#[derive(Debug, Default)]
pub struct AppCache(Mutex<HashMap<AppId, (App, DateTime<Utc>)>>);

impl AppCache {
    /// The cached app if read less than `MEMBERSHIP_TTL` before `now`.
    pub fn fresh(&self, id: &AppId, now: DateTime<Utc>) -> Option<App> {
        let cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(id)
            .filter(|(_, read_at)| now - *read_at < MEMBERSHIP_TTL)
            .map(|(app, _)| app.clone())
    }

    pub fn store(&self, app: &App, now: DateTime<Utc>) {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(app.id.clone(), (app.clone(), now));
    }

    /// GetApp, remembering the answer.
    pub async fn read(
        &self,
        sms: &aws_sdk_sms::Client,
        id: &AppId,
        now: DateTime<Utc>,
    ) -> Result<App, AwsCallError> {
        let app = sms_api::app(sms, id).await?;
        self.store(&app, now);
        Ok(app)
    }

    /// The cached app when fresh, else GetApp; says whether it called.
    pub async fn get(
        &self,
        sms: &aws_sdk_sms::Client,
        id: &AppId,
        now: DateTime<Utc>,
    ) -> Result<(App, bool), AwsCallError> {
        match self.fresh(id, now) {
            Some(app) => Ok((app, false)),
            None => Ok((self.read(sms, id, now).await?, true)),
        }
    }

    /// Moves the entries out (a test hands a warm cache to a new context with it).
    pub fn take(&self) -> Self {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Self(Mutex::new(std::mem::take(&mut *cache)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppLaunchStatus;

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = AppCache::default();
        let app = App {
            id: "app-1".into(),
            name: None,
            launch_status: AppLaunchStatus::ReadyForLaunch,
            replication_status: None,
            server_groups: vec![],
            tags: vec![],
        };
        let at = DateTime::from_timestamp(1_000_000, 0).unwrap();
        cache.store(&app, at);
        assert!(cache.fresh(&app.id, at + Duration::minutes(14)).is_some());
        assert!(cache.fresh(&app.id, at + MEMBERSHIP_TTL).is_none());
        assert!(cache.take().fresh(&app.id, at).is_some());
        assert!(cache.fresh(&app.id, at).is_none(), "taken");
    }
}
