//! Tagging on the wire: any resource of the account by its ARN (the path's label).
//! A resource holds at most 50 tags (the model's TagsMap), counted after the change.

use serde_json::{json, Value};

use super::{opt_str, tags};
use crate::mgn::engine::Engine;
use crate::mgn::error::MgnError;

fn arn(input: &Value) -> Result<String, MgnError> {
    opt_str(input, "resourceArn")?
        .filter(|a| a.len() >= 20)
        .ok_or_else(|| MgnError::field("resourceArn", "must be an ARN of at least 20 characters"))
}

pub(super) fn tag_resource(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    let arn = arn(input)?;
    if input.get("tags").is_none_or(Value::is_null) {
        return Err(MgnError::field("tags", "is required"));
    }
    let new = tags(input)?;
    let held = engine.tags_of(&arn)?;
    let total = held.len() + new.keys().filter(|k| !held.contains_key(*k)).count();
    if total > 50 {
        return Err(MgnError::field(
            "tags",
            format!("{arn} would hold {total} tags; at most 50"),
        ));
    }
    held.extend(new);
    Ok(json!({}))
}

pub(super) fn untag_resource(engine: &mut Engine, input: &Value) -> Result<Value, MgnError> {
    let arn = arn(input)?;
    let keys = super::str_list(input, "tagKeys", (1, usize::MAX), |_, _| Ok(()))?
        .ok_or_else(|| MgnError::field("tagKeys", "is required"))?;
    let held = engine.tags_of(&arn)?;
    for key in keys {
        held.remove(&key);
    }
    Ok(json!({}))
}

pub(super) fn list_tags_for_resource(
    engine: &mut Engine,
    input: &Value,
) -> Result<Value, MgnError> {
    let arn = arn(input)?;
    Ok(json!({ "tags": engine.tags_of(&arn)? }))
}
