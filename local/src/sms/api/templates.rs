//! CloudFormation documents on the wire: GenerateTemplate and GenerateChangeSet, each
//! answering with the `S3Location` the engine wrote the document to.

use serde_json::{json, Value};

use super::{app_arg, format_arg};
use crate::sms::engine::{Engine, S3Location};
use crate::sms::protocol::ApiError;

pub(super) fn generate_template(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_arg(engine, input)?;
    let format = format_arg(input, "templateFormat")?;
    let location = engine.generate_template(key, format)?;
    Ok(s3_location(location))
}

pub(super) fn generate_change_set(engine: &mut Engine, input: &Value) -> Result<Value, ApiError> {
    let key = app_arg(engine, input)?;
    let format = format_arg(input, "changesetFormat")?;
    let location = engine.generate_change_set(key, format)?;
    Ok(s3_location(location))
}

fn s3_location(l: S3Location) -> Value {
    json!({ "s3Location": { "bucket": l.bucket, "key": l.key } })
}
