//! JSON state the functions keep in the artifacts bucket (e.g. the watcher's failure
//! snapshot): a missing object reads as the default, an unreadable one is an error
//! rather than a silent reset that would re-alert every failure. [`StateObject`] is the
//! one shell around a function's own state: read once, written back when it changed.

use std::sync::{Mutex, PoisonError};

use aws_sdk_s3::primitives::ByteStream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::digest::Fnv1a;
use crate::error::{AutopilotError, AwsCallError};
use crate::plan::resolved::{ResolvedPlan, RESOLVED_KEY};

/// Reads an object's bytes; `None` when it does not exist.
pub async fn load_bytes(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, AwsCallError> {
    Ok(load_tagged(s3, bucket, key)
        .await?
        .map(|tagged| tagged.bytes))
}

/// The ETag of an object's current version, without reading it; `None` when it does
/// not exist.
pub async fn etag_of(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, AwsCallError> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(head) => Ok(Some(head.e_tag().unwrap_or_default().to_owned())),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
        Err(error) => Err(AwsCallError::from_sdk("S3", "HeadObject", &error)),
    }
}

/// An object's bytes with the ETag that names this version of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    pub bytes: Vec<u8>,
    pub etag: String,
}

/// The condition a conditional write puts on the object it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// Only if there is no such object yet (`If-None-Match: *`).
    Absent,
    /// Only if the object is still the version with this ETag (`If-Match`).
    Unchanged(String),
}

/// Reads an object's bytes and ETag; `None` when it does not exist.
pub async fn load_tagged(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<Tagged>, AwsCallError> {
    let mut bytes = Vec::new();
    let etag = read_object(s3, bucket, key, &mut bytes).await?;
    Ok(etag.map(|etag| Tagged { bytes, etag }))
}

/// The FNV-1a digest of an object's bytes, read chunk by chunk and never held whole;
/// `None` when it does not exist.
pub async fn digest_of(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<u64>, AwsCallError> {
    let mut digest = Fnv1a::default();
    let etag = read_object(s3, bucket, key, &mut digest).await?;
    Ok(etag.map(|_| digest.finish()))
}

/// Where an object's body goes as it arrives.
trait BodySink {
    /// The body's size, as S3 gave it, before any of it.
    fn expect(&mut self, _length: usize) {}
    fn take(&mut self, chunk: &[u8]);
}

impl BodySink for Vec<u8> {
    fn expect(&mut self, length: usize) {
        self.reserve_exact(length);
    }

    fn take(&mut self, chunk: &[u8]) {
        self.extend_from_slice(chunk);
    }
}

impl BodySink for Fnv1a {
    fn take(&mut self, chunk: &[u8]) {
        self.write(chunk);
    }
}

/// Gives an object's body to `sink` chunk by chunk as it arrives, so that it is never
/// held twice (a body collected first keeps the connection's read buffers, about twice
/// its size, until it is copied out); the object's ETag, or `None` when it does not
/// exist.
async fn read_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    sink: &mut impl BodySink,
) -> Result<Option<String>, AwsCallError> {
    let answer = s3.get_object().bucket(bucket).key(key).send().await;
    let mut object = match answer {
        Ok(object) => object,
        Err(error) => {
            let missing = error.as_service_error().is_some_and(|e| e.is_no_such_key());
            if missing {
                return Ok(None);
            }
            return Err(AwsCallError::from_sdk("S3", "GetObject", &error));
        }
    };
    let length = object
        .content_length()
        .and_then(|n| usize::try_from(n).ok());
    sink.expect(length.unwrap_or_default());
    loop {
        match object.body.try_next().await {
            Ok(Some(chunk)) => sink.take(&chunk),
            Ok(None) => break,
            Err(error) => {
                let message = format!("s3://{bucket}/{key}: body could not be read: {error}");
                return Err(AwsCallError::body_cut_off("S3", "GetObject", message));
            }
        }
    }
    Ok(Some(object.e_tag().unwrap_or_default().to_owned()))
}

/// Writes a JSON object only if `condition` holds: the new ETag, or `None` when S3
/// refused the write because it did not (412 Precondition Failed, or 409 when another
/// conditional write of the same key was in flight).
pub async fn store_json_if<T: Serialize>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    value: &T,
    condition: WriteCondition,
) -> Result<Option<String>, AwsCallError> {
    let body = serde_json::to_vec(value).expect("state is plain data and always serializes");
    let request = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body));
    let request = match condition {
        WriteCondition::Absent => request.if_none_match("*"),
        WriteCondition::Unchanged(etag) => request.if_match(etag),
    };
    match request.send().await {
        Ok(written) => Ok(Some(written.e_tag().unwrap_or_default().to_owned())),
        Err(error) => {
            let status = error.raw_response().map(|r| r.status().as_u16());
            if matches!(status, Some(412 | 409)) {
                return Ok(None);
            }
            Err(AwsCallError::from_sdk("S3", "PutObject", &error))
        }
    }
}

/// Reads a JSON object; `T::default()` when it does not exist yet.
pub async fn load_json<T: DeserializeOwned + Default>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    what: &'static str,
) -> Result<T, AutopilotError> {
    let Some(bytes) = load_bytes(s3, bucket, key).await? else {
        return Ok(T::default());
    };
    serde_json::from_slice(&bytes).map_err(|error| AutopilotError::CorruptState {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        what,
        reason: error.to_string(),
    })
}

/// Writes a JSON object.
pub async fn store_json<T: Serialize>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    value: &T,
) -> Result<(), AutopilotError> {
    let body = serde_json::to_vec(value).expect("state is plain data and always serializes");
    Ok(store_bytes(s3, bucket, key, "application/json", body).await?)
}

/// Writes an object of `content_type`.
pub async fn store_bytes(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(), AwsCallError> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("S3", "PutObject", &error))?;
    Ok(())
}

/// The accepted wave plan, as every function that follows it reads it (written by the
/// app-planner at [`RESOLVED_KEY`]). One policy for all of them: a missing object (no
/// plan accepted yet) reads as the empty plan, so nothing constrains a function beyond
/// its own configuration; an unreadable one is an error that names the object
/// ([`AutopilotError::CorruptState`], permanent), because a function that guessed would
/// launch out of order, create jobs the plan excludes, or alert and report without the
/// plan's names. The planner, its only writer, replaces an unreadable copy on its next
/// run that accepts a plan.
pub async fn load_resolved_plan(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<ResolvedPlan, AutopilotError> {
    load_json(s3, bucket, RESOLVED_KEY, RESOLVED_WHAT).await
}

/// The resolved plan read at most once per invocation, and only when something needs
/// it (an alert names a server's application, a new job takes its settings), with the
/// one policy of [`load_resolved_plan`] for a missing or unreadable plan.
#[derive(Debug, Default)]
pub struct ResolvedPlanOnce {
    read: Option<std::sync::Arc<ResolvedPlan>>,
}

impl ResolvedPlanOnce {
    /// The plan when `needed`, reading it the first time; the empty plan otherwise.
    pub async fn when(
        &mut self,
        needed: bool,
        s3: &aws_sdk_s3::Client,
        bucket: &str,
    ) -> Result<std::sync::Arc<ResolvedPlan>, AutopilotError> {
        if !needed {
            return Ok(std::sync::Arc::default());
        }
        if let Some(plan) = &self.read {
            return Ok(std::sync::Arc::clone(plan));
        }
        let plan = std::sync::Arc::new(load_resolved_plan(s3, bucket).await?);
        self.read = Some(std::sync::Arc::clone(&plan));
        Ok(plan)
    }
}

/// Stores what the launcher and the job-creator take from the accepted plan, when it
/// changed. The planner is its only writer: the stored copy is compared as bytes, never
/// read (at 100,000 servers reading it would hold the plan twice), so an unreadable one
/// is replaced, not obeyed.
pub async fn store_resolved_plan(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    resolved: &ResolvedPlan,
) -> Result<(), AutopilotError> {
    let object = StateObject::new(s3, bucket, RESOLVED_KEY, RESOLVED_WHAT);
    object.remember_stored().await?;
    object.store_if_changed(resolved).await?;
    Ok(())
}

/// What errors call the resolved plan.
pub const RESOLVED_WHAT: &str = "resolved plan";

/// A function's state object in the artifacts bucket: where it lives, what errors call
/// it, and the digest of the JSON last read or written, so that a run writes it back
/// only when it changed without holding a second copy of it (the watcher's snapshot at
/// 100,000 servers is its largest allocation).
#[derive(Debug)]
pub struct StateObject<'a> {
    s3: &'a aws_sdk_s3::Client,
    bucket: &'a str,
    key: &'a str,
    what: &'static str,
    written: Mutex<Option<u64>>,
}

impl<'a> StateObject<'a> {
    pub fn new(
        s3: &'a aws_sdk_s3::Client,
        bucket: &'a str,
        key: &'a str,
        what: &'static str,
    ) -> Self {
        Self {
            s3,
            bucket,
            key,
            what,
            written: Mutex::new(None),
        }
    }

    /// Reads the state (`T::default()` when there is none yet) and remembers its digest.
    pub async fn load<T: DeserializeOwned + Default + Serialize>(
        &self,
    ) -> Result<T, AutopilotError> {
        let state: T = load_json(self.s3, self.bucket, self.key, self.what).await?;
        self.remember(crate::digest::fnv1a(&json(&state)));
        Ok(state)
    }

    /// Remembers the digest of the stored bytes without reading them as state, for a
    /// writer that only needs to know whether its write would change them.
    pub async fn remember_stored(&self) -> Result<(), AutopilotError> {
        if let Some(digest) = digest_of(self.s3, self.bucket, self.key).await? {
            self.remember(digest);
        }
        Ok(())
    }

    /// Writes the state.
    pub async fn store<T: Serialize>(&self, state: &T) -> Result<(), AutopilotError> {
        let body = json(state);
        self.write(crate::digest::fnv1a(&body), body).await
    }

    /// Writes the state when its JSON differs from what was last read or written; says
    /// whether it wrote.
    pub async fn store_if_changed<T: Serialize>(&self, state: &T) -> Result<bool, AutopilotError> {
        let body = json(state);
        let digest = crate::digest::fnv1a(&body);
        if *self.lock() == Some(digest) {
            return Ok(false);
        }
        self.write(digest, body).await?;
        Ok(true)
    }

    /// Writes `body`, whose digest is `digest`, and remembers it.
    async fn write(&self, digest: u64, body: Vec<u8>) -> Result<(), AutopilotError> {
        store_bytes(self.s3, self.bucket, self.key, "application/json", body).await?;
        self.remember(digest);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.written.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, digest: u64) {
        *self.lock() = Some(digest);
    }
}

fn json<T: Serialize>(state: &T) -> Vec<u8> {
    serde_json::to_vec(state).expect("state is plain data and always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryBucket;

    #[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
    struct Counter {
        count: u32,
    }

    #[tokio::test]
    async fn a_state_object_is_written_only_when_it_changed_since_read_or_written() {
        let bucket = MemoryBucket::default();
        let (s3, _, _) = bucket.client();
        let object = StateObject::new(&s3, "b", "state/counter.json", "counter");
        let mut counter: Counter = object.load().await.expect("missing reads as default");
        assert!(!object.store_if_changed(&counter).await.expect("no write"));
        assert_eq!(bucket.get("state/counter.json"), None);
        counter.count = 2;
        assert!(object.store_if_changed(&counter).await.expect("written"));
        assert!(!object.store_if_changed(&counter).await.expect("unchanged"));
        let again = StateObject::new(&s3, "b", "state/counter.json", "counter");
        assert_eq!(
            again.load::<Counter>().await.expect("read"),
            Counter { count: 2 }
        );
        assert!(!again.store_if_changed(&counter).await.expect("as read"));
    }

    /// An S3 client whose GetObject answers a body in `pieces`, then `error` if given.
    fn s3_answering_in_pieces(
        pieces: &'static [&'static str],
        error: Option<&'static str>,
    ) -> aws_sdk_s3::Client {
        use aws_sdk_s3::operation::get_object::GetObjectOutput;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        use aws_smithy_types::body::SdkBody;
        use http_body::Frame;
        use std::io::{Error, ErrorKind};
        let get = mock!(aws_sdk_s3::Client::get_object).then_output(move || {
            let frames = pieces
                .iter()
                .map(|piece| Ok(Frame::data(bytes::Bytes::from_static(piece.as_bytes()))))
                .chain(error.map(|cause| Err(Error::new(ErrorKind::UnexpectedEof, cause))));
            let body = http_body_util::StreamBody::new(futures::stream::iter(frames));
            GetObjectOutput::builder()
                .e_tag("\"etag-1\"")
                .body(ByteStream::new(SdkBody::from_body_1_x(body)))
                .build()
        });
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&get])
    }

    #[tokio::test]
    async fn an_object_in_pieces_is_read_and_digested_whole() {
        let s3 = s3_answering_in_pieces(&["{\"apps\"", ": [], ", "\"x\": 1}"], None);
        let tagged = load_tagged(&s3, "b", "k")
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(tagged.bytes, b"{\"apps\": [], \"x\": 1}");
        assert_eq!(tagged.etag, "\"etag-1\"");
        let digest = digest_of(&s3, "b", "k").await.expect("read");
        assert_eq!(digest, Some(crate::digest::fnv1a(&tagged.bytes)));
    }

    #[tokio::test]
    async fn a_body_cut_off_is_an_error_naming_the_object() {
        let s3 = s3_answering_in_pieces(&["{\"apps\""], Some("connection reset"));
        for error in [
            load_tagged(&s3, "b", "state/x.json")
                .await
                .expect_err("cut off"),
            digest_of(&s3, "b", "state/x.json")
                .await
                .expect_err("cut off"),
        ] {
            let text = error.to_string();
            assert!(text.contains("s3://b/state/x.json"), "{text}");
            assert!(text.contains("body could not be read"), "{text}");
        }
    }

    #[tokio::test]
    async fn the_resolved_plan_is_empty_when_missing_and_an_error_when_unreadable() {
        let bucket = MemoryBucket::default();
        let (s3, _, _) = bucket.client();
        let missing = load_resolved_plan(&s3, "b")
            .await
            .expect("missing is no plan");
        assert_eq!(missing, ResolvedPlan::default());
        bucket.put(RESOLVED_KEY, b"{\"apps\": [".to_vec());
        let error = load_resolved_plan(&s3, "b").await.expect_err("unreadable");
        assert!(
            matches!(error, AutopilotError::CorruptState { .. }),
            "{error}"
        );
        assert!(error.to_string().contains(RESOLVED_KEY), "{error}");
        assert_eq!(error.retryability(), crate::Retryability::Permanent);
    }

    #[tokio::test]
    async fn the_resolved_plan_is_stored_when_changed_and_replaces_an_unreadable_copy() {
        let bucket = MemoryBucket::default();
        let (s3, _, puts) = bucket.client();
        let resolved = ResolvedPlan {
            plan_version: "v1".into(),
            ..ResolvedPlan::default()
        };
        bucket.put(RESOLVED_KEY, b"{\"apps\": [".to_vec());
        store_resolved_plan(&s3, "b", &resolved)
            .await
            .expect("replaced");
        assert_eq!(load_resolved_plan(&s3, "b").await.expect("read"), resolved);
        assert_eq!(puts.num_calls(), 1);
        store_resolved_plan(&s3, "b", &resolved)
            .await
            .expect("unchanged");
        assert_eq!(
            puts.num_calls(),
            1,
            "an unchanged plan is not written again"
        );
        let next = ResolvedPlan {
            plan_version: "v2".into(),
            ..ResolvedPlan::default()
        };
        store_resolved_plan(&s3, "b", &next).await.expect("changed");
        assert_eq!(load_resolved_plan(&s3, "b").await.expect("read"), next);
    }

    #[tokio::test]
    async fn an_unreadable_state_object_is_an_error_that_names_it() {
        let bucket = MemoryBucket::default();
        bucket.put("state/counter.json", b"{not json".to_vec());
        let (s3, _, _) = bucket.client();
        let object = StateObject::new(&s3, "b", "state/counter.json", "counter");
        let error = object.load::<Counter>().await.expect_err("corrupt");
        assert!(
            matches!(error, AutopilotError::CorruptState { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("state/counter.json"), "{error}");
    }
}
