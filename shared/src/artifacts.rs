//! JSON state the functions keep in the artifacts bucket (e.g. the watcher's failure
//! snapshot): a missing object reads as the default, an unreadable one is an error
//! rather than a silent reset that would re-alert every failure.

use aws_sdk_s3::primitives::ByteStream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{AutopilotError, AwsCallError};

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
    let answer = s3.get_object().bucket(bucket).key(key).send().await;
    let object = match answer {
        Ok(object) => object,
        Err(error) => {
            let missing = error.as_service_error().is_some_and(|e| e.is_no_such_key());
            if missing {
                return Ok(None);
            }
            return Err(AwsCallError::from_sdk("S3", "GetObject", &error));
        }
    };
    let etag = object.e_tag().unwrap_or_default().to_owned();
    let bytes = object.body.collect().await.map_err(|error| {
        let message = format!("s3://{bucket}/{key}: body could not be read: {error}");
        AwsCallError::body_cut_off("S3", "GetObject", message)
    })?;
    Ok(Some(Tagged {
        bytes: bytes.into_bytes().to_vec(),
        etag,
    }))
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
