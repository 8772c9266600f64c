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
    let bytes = object.body.collect().await.map_err(|error| {
        let message = format!("s3://{bucket}/{key}: body could not be read: {error}");
        AwsCallError::body_cut_off("S3", "GetObject", message)
    })?;
    Ok(Some(bytes.into_bytes().to_vec()))
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
