//! Checks a JSON value against the JSON Schema its type derives (the subset schemars
//! writes: `$ref`, `anyOf`, `oneOf`/`enum` of constants, `type`, `properties`,
//! `required`, `additionalProperties`, `items`, `minimum`, `maximum`), reporting every
//! problem with its path instead of stopping at the first as a deserializer would.

use serde_json::Value;

/// One thing wrong with a value, at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// Every problem of `value` against `schema` (whose `$defs` hold the named types).
pub fn check(value: &Value, schema: &Value) -> Vec<Problem> {
    let mut walk = Walk {
        root: schema,
        problems: Vec::new(),
    };
    walk.value(value, schema, "");
    walk.problems
}

struct Walk<'a> {
    root: &'a Value,
    problems: Vec<Problem>,
}

impl<'a> Walk<'a> {
    fn report(&mut self, path: &str, message: String) {
        self.problems.push(Problem {
            path: path.to_owned(),
            message,
        });
    }

    /// The schema a `$ref` names, or the schema itself.
    fn resolve(&self, schema: &'a Value) -> &'a Value {
        let target = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/$defs/"));
        match target {
            Some(name) => &self.root["$defs"][name],
            None => schema,
        }
    }

    fn value(&mut self, value: &Value, schema: &'a Value, path: &str) {
        let schema = self.resolve(schema);
        if let Some(alternatives) = schema["anyOf"].as_array() {
            return self.any_of(value, alternatives, path);
        }
        let constants = schema["oneOf"]
            .as_array()
            .or_else(|| schema["enum"].as_array());
        if let Some(constants) = constants {
            return self.constant(value, constants, path);
        }
        if !type_allows(&schema["type"], value) {
            let expected = describe_type(&schema["type"]);
            return self.report(
                path,
                format!("expected {expected}, found {}", describe(value)),
            );
        }
        match value {
            Value::Object(map) => self.object(map, schema, path),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.value(item, &schema["items"], &format!("{path}[{index}]"));
                }
            }
            Value::Number(number) => self.range(number.as_f64().unwrap_or_default(), schema, path),
            _ => {}
        }
    }

    /// `Option<T>` and untagged unions: fine when one alternative fits, else the
    /// problems of the alternative of the value's own type.
    fn any_of(&mut self, value: &Value, alternatives: &'a [Value], path: &str) {
        let mut best: Option<Vec<Problem>> = None;
        for alternative in alternatives {
            let mut trial = Walk {
                root: self.root,
                problems: Vec::new(),
            };
            trial.value(value, alternative, path);
            if trial.problems.is_empty() {
                return;
            }
            let same_type =
                !value.is_null() && type_allows(&self.resolve(alternative)["type"], value);
            if best.is_none() || same_type {
                best = Some(trial.problems);
            }
        }
        self.problems.extend(best.unwrap_or_default());
    }

    fn constant(&mut self, value: &Value, constants: &[Value], path: &str) {
        let allowed: Vec<&Value> = constants
            .iter()
            .map(|c| c.get("const").unwrap_or(c))
            .collect();
        if !allowed.contains(&value) {
            let names: Vec<String> = allowed.iter().map(|c| c.to_string()).collect();
            self.report(
                path,
                format!("{} is not one of {}", describe(value), names.join(", ")),
            );
        }
    }

    fn object(&mut self, map: &serde_json::Map<String, Value>, schema: &'a Value, path: &str) {
        let properties = schema["properties"].as_object();
        let join = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        for required in schema["required"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap_or_default();
            if !map.contains_key(key) {
                self.report(path, format!("`{key}` is required"));
            }
        }
        for (key, item) in map {
            match properties.and_then(|p| p.get(key)) {
                Some(property) => self.value(item, property, &join(key)),
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => {
                        let known: Vec<&str> = properties
                            .into_iter()
                            .flat_map(|p| p.keys())
                            .map(String::as_str)
                            .collect();
                        self.report(
                            &join(key),
                            format!("unknown key `{key}` (known keys: {})", known.join(", ")),
                        );
                    }
                    extra @ Value::Object(_) => self.value(item, extra, &join(key)),
                    _ => {}
                },
            }
        }
    }

    fn range(&mut self, number: f64, schema: &Value, path: &str) {
        if let Some(minimum) = schema["minimum"].as_f64().filter(|m| number < *m) {
            self.report(path, format!("{number} is below the minimum of {minimum}"));
        }
        if let Some(maximum) = schema["maximum"].as_f64().filter(|m| number > *m) {
            self.report(path, format!("{number} is above the maximum of {maximum}"));
        }
    }
}

/// Whether the schema's `type` (absent, a name or a list of names) admits `value`.
fn type_allows(types: &Value, value: &Value) -> bool {
    let admits = |name: &str| match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => true,
    };
    match types {
        Value::String(name) => admits(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(admits),
        _ => true,
    }
}

fn describe_type(types: &Value) -> String {
    let article = |name: &str| match name {
        "integer" | "object" | "array" => format!("an {name}"),
        "null" => "nothing".to_owned(),
        _ => format!("a {name}"),
    };
    match types {
        Value::String(name) => article(name),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .map(article)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "a value".to_owned(),
    }
}

/// A value as an error message shows it: short, without echoing long text.
fn describe(value: &Value) -> String {
    match value {
        Value::String(text) if text.chars().count() <= 40 => format!("\"{text}\""),
        Value::String(_) => "a long string".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "order": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]},
                "mode": {"$ref": "#/$defs/Mode"},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}}
            },
            "$defs": {
                "Mode": {"oneOf": [{"const": "automatic"}, {"const": "manual"}]},
                "Item": {"type": "object", "additionalProperties": false, "properties": {"n": {"type": "integer"}}}
            }
        })
    }

    #[test]
    fn every_problem_is_found_with_its_path() {
        let value = json!({
            "order": -1, "mode": "sometimes", "tags": {"a": 1},
            "items": [{"n": 1}, {"n": "two", "m": 3}], "extra": true
        });
        let problems = check(&value, &schema());
        let found: Vec<(String, String)> =
            problems.into_iter().map(|p| (p.path, p.message)).collect();
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "",
                "order",
                "mode",
                "tags.a",
                "items[1].n",
                "items[1].m",
                "extra"
            ],
            "{found:#?}"
        );
        assert!(found[0].1.contains("`name` is required"));
        assert!(found[2]
            .1
            .contains("\"sometimes\" is not one of \"automatic\", \"manual\""));
        assert!(found[6].1.contains("unknown key `extra`"));
    }

    #[test]
    fn a_sound_value_has_no_problem() {
        let value = json!({"name": "shop", "order": null, "mode": "manual", "items": []});
        assert!(check(&value, &schema()).is_empty());
    }
}
