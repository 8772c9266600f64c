//! Reads `infra/template.yaml` — the deployed wiring — so the local runner invokes each
//! function exactly as AWS would: the same schedules, the same EventBridge rules on the
//! same buses, and the same environment variables resolved from the parameters'
//! defaults. What runs locally is what deploys.
//!
//! Supported, because the template uses them: `Schedule`/`ScheduleV2` events with
//! `rate(...)` expressions (named or not, enabled or not), `EventBridgeRule` events with literal-value patterns, and the
//! intrinsics `!Ref` (parameters, the event bus, the artifacts bucket, pseudo parameters)
//! and `!Sub` in environment values, and `!If` on the template's conditions (`!Equals`,
//! `!Not`) where a property may be left out with `!Ref AWS::NoValue`. Anything else is an error naming the place.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

/// The stack name the local run pretends to be deployed as.
pub const LOCAL_STACK_NAME: &str = "sms-autopilot";
/// The region the local run pretends to be deployed in.
pub const LOCAL_REGION: &str = "us-east-1";
/// The account the local run pretends to be deployed in.
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// Why the template cannot be wired.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid YAML: {source}")]
    Parse {
        path: String,
        source: serde_yaml_ng::Error,
    },
    #[error("template {place}: {problem}")]
    Unsupported { place: String, problem: String },
}

/// Which bus a rule listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusRef {
    /// The account's default bus (where SMS publishes).
    Default,
    /// A bus by name (the project's own).
    Named(String),
}

/// A schedule of one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleWiring {
    /// The event's name in the function's `Events`.
    pub name: String,
    pub every: Duration,
    /// The rule's own name (`Name`), when the template gives it one; SAM makes one up
    /// otherwise.
    pub rule_name: Option<String>,
    /// Deployed enabled (`Enabled`, `State`; SAM's default is enabled).
    pub enabled: bool,
}

/// An EventBridge rule of one function.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleWiring {
    pub name: String,
    pub bus: BusRef,
    pub pattern: Json,
}

/// One function as the template deploys it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionWiring {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the crate and binary name.
    pub binary: String,
    pub environment: BTreeMap<String, String>,
    /// `ReservedConcurrentExecutions`: Lambda never runs more copies at once.
    pub reserved_concurrency: Option<u32>,
    /// `Timeout`: how long Lambda lets one invocation run (Lambda's 3 s when absent).
    pub timeout: std::time::Duration,
    pub schedules: Vec<ScheduleWiring>,
    pub rules: Vec<RuleWiring>,
}

/// Lambda's timeout for a function that sets none.
const LAMBDA_DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Every function of the template, and the names the runner needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Wiring {
    pub functions: Vec<FunctionWiring>,
    /// The project's bus name as deployed locally.
    pub project_bus: String,
    /// The artifacts bucket name as deployed locally.
    pub artifacts_bucket: String,
}

impl Wiring {
    /// The template at `path` with its parameters' defaults.
    pub fn load(path: &Path) -> Result<Self, WiringError> {
        Self::load_with(path, &[])
    }

    /// The template at `path` deployed with `parameters` over the defaults (e.g.
    /// `Backend` MGN): only the resources whose `Condition` then holds.
    pub fn load_with(path: &Path, parameters: &[(&str, &str)]) -> Result<Self, WiringError> {
        let text = std::fs::read_to_string(path).map_err(|source| WiringError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let template: Yaml =
            serde_yaml_ng::from_str(&text).map_err(|source| WiringError::Parse {
                path: path.display().to_string(),
                source,
            })?;
        Self::from_template_with(&template, parameters)
    }

    pub fn from_template(template: &Yaml) -> Result<Self, WiringError> {
        Self::from_template_with(template, &[])
    }

    fn from_template_with(
        template: &Yaml,
        parameters: &[(&str, &str)],
    ) -> Result<Self, WiringError> {
        let resources = mapping(&template["Resources"], "Resources")?;
        let resolver = Resolver::new(template, resources, parameters)?;
        let mut functions = Vec::new();
        for (id, resource) in resources {
            let id = id.as_str().unwrap_or_default();
            if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
                continue;
            }
            if let Some(condition) = resource["Condition"].as_str() {
                if !resolver.condition(condition, &format!("{id}.Condition"))? {
                    continue;
                }
            }
            functions.push(function(id, resource, &resolver)?);
        }
        Ok(Self {
            functions,
            project_bus: resolver.bus_name.clone(),
            artifacts_bucket: resolver.bucket_name.clone(),
        })
    }

    /// Indices of the functions whose rules match an event that arrived on `bus`.
    pub fn target_indices(&self, bus: &BusRef, event: &Json) -> Vec<usize> {
        self.functions
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.rules
                    .iter()
                    .any(|r| &r.bus == bus && pattern_matches(&r.pattern, event))
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// Functions whose rules match an event that arrived on `bus`.
    pub fn targets<'a>(&'a self, bus: &BusRef, event: &Json) -> Vec<&'a FunctionWiring> {
        self.target_indices(bus, event)
            .into_iter()
            .map(|index| &self.functions[index])
            .collect()
    }
}

fn mapping<'a>(value: &'a Yaml, place: &str) -> Result<&'a serde_yaml_ng::Mapping, WiringError> {
    value.as_mapping().ok_or_else(|| WiringError::Unsupported {
        place: place.to_owned(),
        problem: "missing or not a mapping".into(),
    })
}

fn function(id: &str, resource: &Yaml, resolver: &Resolver) -> Result<FunctionWiring, WiringError> {
    let place = |what: &str| format!("{id}.{what}");
    let binary = resource["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .ok_or_else(|| WiringError::Unsupported {
            place: place("Metadata.BuildProperties.Binary"),
            problem: "missing".into(),
        })?
        .to_owned();
    let properties = &resource["Properties"];
    let mut environment = BTreeMap::new();
    if let Some(variables) = properties["Environment"]["Variables"].as_mapping() {
        for (name, value) in variables {
            let name = name.as_str().unwrap_or_default().to_owned();
            let value = resolver.resolve(value, &place(&format!("Environment.{name}")))?;
            environment.insert(name, value);
        }
    }
    let (schedules, rules) = function_events(id, &properties["Events"], resolver)?;
    let reserved = place("ReservedConcurrentExecutions");
    let reserved_concurrency = resolver
        .resolve_optional(&properties["ReservedConcurrentExecutions"], &reserved)?
        .map(|count| {
            count.parse().map_err(|e| WiringError::Unsupported {
                place: reserved.clone(),
                problem: format!("not a count: {e}"),
            })
        })
        .transpose()?;
    let timeout = match properties["Timeout"].as_i64() {
        None => LAMBDA_DEFAULT_TIMEOUT,
        Some(secs) => u64::try_from(secs)
            .ok()
            .filter(|secs| (1..=900).contains(secs))
            .map(std::time::Duration::from_secs)
            .ok_or_else(|| WiringError::Unsupported {
                place: place("Timeout"),
                problem: format!("{secs} is not 1 to 900 seconds"),
            })?,
    };
    Ok(FunctionWiring {
        logical_id: id.to_owned(),
        binary,
        environment,
        reserved_concurrency,
        timeout,
        schedules,
        rules,
    })
}

/// The schedules and EventBridge rules of function `id`'s `Events`.
fn function_events(
    id: &str,
    events: &Yaml,
    resolver: &Resolver,
) -> Result<(Vec<ScheduleWiring>, Vec<RuleWiring>), WiringError> {
    let place = |what: &str| format!("{id}.{what}");
    let mut schedules = Vec::new();
    let mut rules = Vec::new();
    if let Some(events) = events.as_mapping() {
        for (name, event) in events {
            let name = name.as_str().unwrap_or_default().to_owned();
            let at = place(&format!("Events.{name}"));
            match event["Type"].as_str() {
                Some("Schedule" | "ScheduleV2") => {
                    let expression = &event["Properties"]["Schedule"];
                    let expression = if expression.is_null() {
                        &event["Properties"]["ScheduleExpression"]
                    } else {
                        expression
                    };
                    let expression = resolver.resolve(expression, &at)?;
                    let every = parse_rate(&expression).ok_or_else(|| WiringError::Unsupported {
                        place: at.clone(),
                        problem: format!("`{expression}` is not a rate(...) expression the local runner can play"),
                    })?;
                    let rule_name = match &event["Properties"]["Name"] {
                        Yaml::Null => None,
                        named => Some(resolver.resolve(named, &at)?),
                    };
                    let enabled = schedule_enabled(&event["Properties"], &at)?;
                    schedules.push(ScheduleWiring {
                        name,
                        every,
                        rule_name,
                        enabled,
                    });
                }
                Some("EventBridgeRule") => {
                    let bus = match &event["Properties"]["EventBusName"] {
                        Yaml::Null => BusRef::Default,
                        named => BusRef::Named(resolver.resolve(named, &at)?),
                    };
                    let pattern = resolver.resolve_tree(&event["Properties"]["Pattern"], &at)?;
                    rules.push(RuleWiring { name, bus, pattern });
                }
                other => {
                    return Err(WiringError::Unsupported {
                        place: at,
                        problem: format!("event type {other:?} is not played locally"),
                    })
                }
            }
        }
    }
    Ok((schedules, rules))
}

/// Whether a schedule is deployed enabled: `Enabled: false` or `State: DISABLED` say
/// it is not.
fn schedule_enabled(properties: &Yaml, place: &str) -> Result<bool, WiringError> {
    let enabled = &properties["Enabled"];
    let state = &properties["State"];
    match (enabled, state.as_str()) {
        (Yaml::Null, None | Some("ENABLED")) => Ok(true),
        (Yaml::Null, Some("DISABLED")) => Ok(false),
        (Yaml::Bool(enabled), None) => Ok(*enabled),
        _ => Err(WiringError::Unsupported {
            place: format!("{place}.Properties"),
            problem: "Enabled must be a literal true or false, State ENABLED or DISABLED, and \
                      not both"
                .to_owned(),
        }),
    }
}

/// `rate(5 minutes)`, `rate(1 hour)`, `rate(2 days)`.
pub fn parse_rate(expression: &str) -> Option<Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.trim().split_once(' ')?;
    let count: u64 = count.parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(count * seconds))
}

/// Resolves the intrinsics the template's values use, with the parameters' defaults or
/// the values the caller deploys with.
struct Resolver {
    parameters: BTreeMap<String, String>,
    /// The template's `Conditions`, evaluated when an `!If` names one.
    conditions: Yaml,
    bus_id: String,
    bus_name: String,
    bucket_id: String,
    bucket_name: String,
}

impl Resolver {
    fn new(
        template: &Yaml,
        resources: &serde_yaml_ng::Mapping,
        overrides: &[(&str, &str)],
    ) -> Result<Self, WiringError> {
        let mut parameters = BTreeMap::new();
        if let Some(declared) = template["Parameters"].as_mapping() {
            for (name, parameter) in declared {
                let value = match &parameter["Default"] {
                    Yaml::String(s) => s.clone(),
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    _ => String::new(),
                };
                parameters.insert(name.as_str().unwrap_or_default().to_owned(), value);
            }
        }
        for (name, value) in overrides {
            if !parameters.contains_key(*name) {
                return Err(WiringError::Unsupported {
                    place: format!("Parameters.{name}"),
                    problem: "no such parameter".into(),
                });
            }
            let allowed = &template["Parameters"][*name]["AllowedValues"];
            if let Some(allowed) = allowed.as_sequence() {
                if !allowed.iter().any(|a| a.as_str() == Some(*value)) {
                    let allowed: Vec<&str> = allowed.iter().filter_map(Yaml::as_str).collect();
                    return Err(WiringError::Unsupported {
                        place: format!("Parameters.{name}"),
                        problem: format!("`{value}` is not one of {}", allowed.join(", ")),
                    });
                }
            }
            parameters.insert((*name).to_owned(), (*value).to_owned());
        }
        let of_type = |kind: &str| {
            resources
                .iter()
                .find(|(_, r)| r["Type"].as_str() == Some(kind))
                .and_then(|(id, _)| id.as_str().map(str::to_owned))
        };
        let bus_id = of_type("AWS::Events::EventBus").ok_or_else(|| WiringError::Unsupported {
            place: "Resources".into(),
            problem: "no AWS::Events::EventBus".into(),
        })?;
        let bucket_id = of_type("AWS::S3::Bucket").unwrap_or_default();
        let mut resolver = Self {
            parameters,
            conditions: template["Conditions"].clone(),
            bus_id: bus_id.clone(),
            bus_name: format!("{LOCAL_STACK_NAME}-events"),
            bucket_id,
            bucket_name: format!("{LOCAL_STACK_NAME}-artifacts"),
        };
        let declared_name = &resources[bus_id.as_str()]["Properties"]["Name"];
        if !declared_name.is_null() {
            resolver.bus_name = resolver.resolve(declared_name, "EventBus.Properties.Name")?;
        }
        Ok(resolver)
    }

    fn resolve(&self, value: &Yaml, place: &str) -> Result<String, WiringError> {
        let unsupported = |problem: String| WiringError::Unsupported {
            place: place.to_owned(),
            problem,
        };
        match value {
            Yaml::String(s) => Ok(s.clone()),
            Yaml::Number(n) => Ok(n.to_string()),
            Yaml::Bool(b) => Ok(b.to_string()),
            Yaml::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                let argument = tagged
                    .value
                    .as_str()
                    .ok_or_else(|| unsupported(format!("{tag} of a non-string")))?;
                match tag.trim_start_matches('!') {
                    "Ref" => self.reference(argument).ok_or_else(|| {
                        unsupported(format!("!Ref {argument} cannot be resolved locally"))
                    }),
                    "Sub" => self.substitute(argument).ok_or_else(|| {
                        unsupported(format!("!Sub {argument} cannot be resolved locally"))
                    }),
                    other => Err(unsupported(format!(
                        "intrinsic !{other} is not resolved locally"
                    ))),
                }
            }
            other => Err(unsupported(format!("unsupported value {other:?}"))),
        }
    }

    /// A value `!If [Condition, value, other]` may choose and `!Ref AWS::NoValue` may
    /// leave out: `None` when it is left out.
    fn resolve_optional(&self, value: &Yaml, place: &str) -> Result<Option<String>, WiringError> {
        let Yaml::Tagged(tagged) = value else {
            return match value {
                Yaml::Null => Ok(None),
                plain => self.resolve(plain, place).map(Some),
            };
        };
        match (tag_of(tagged).as_str(), &tagged.value) {
            ("Ref", Yaml::String(name)) if name == "AWS::NoValue" => Ok(None),
            ("If", Yaml::Sequence(choice)) if choice.len() == 3 => {
                let condition = choice[0].as_str().unwrap_or_default();
                let chosen = if self.condition(condition, place)? {
                    &choice[1]
                } else {
                    &choice[2]
                };
                self.resolve_optional(chosen, place)
            }
            _ => self.resolve(value, place).map(Some),
        }
    }

    /// Whether the template's condition `name` holds with the parameters' values.
    fn condition(&self, name: &str, place: &str) -> Result<bool, WiringError> {
        self.holds(
            &self.conditions[name],
            &format!("{place} (condition {name})"),
        )
    }

    /// Evaluates `!Equals [a, b]`, `!Not [c]` and `!Condition name`.
    fn holds(&self, expression: &Yaml, place: &str) -> Result<bool, WiringError> {
        let unsupported = || WiringError::Unsupported {
            place: place.to_owned(),
            problem: format!("condition {expression:?} is not evaluated locally"),
        };
        let Yaml::Tagged(tagged) = expression else {
            return Err(unsupported());
        };
        match (tag_of(tagged).as_str(), &tagged.value) {
            ("Equals", Yaml::Sequence(sides)) if sides.len() == 2 => {
                Ok(self.resolve(&sides[0], place)? == self.resolve(&sides[1], place)?)
            }
            ("Not", Yaml::Sequence(negated)) if negated.len() == 1 => {
                Ok(!self.holds(&negated[0], place)?)
            }
            ("Condition", Yaml::String(name)) => self.condition(name, place),
            _ => Err(unsupported()),
        }
    }

    /// A tree of plain values with the intrinsics in it resolved (an event pattern may
    /// name the bucket or a parameter with `!Ref`).
    fn resolve_tree(&self, value: &Yaml, place: &str) -> Result<Json, WiringError> {
        Ok(match value {
            Yaml::Mapping(map) => {
                let mut object = serde_json::Map::new();
                for (key, item) in map {
                    let key = self.resolve(key, place)?;
                    object.insert(key, self.resolve_tree(item, place)?);
                }
                Json::Object(object)
            }
            Yaml::Sequence(items) => Json::Array(
                items
                    .iter()
                    .map(|item| self.resolve_tree(item, place))
                    .collect::<Result<_, _>>()?,
            ),
            Yaml::Null => Json::Null,
            Yaml::Tagged(_) => Json::String(self.resolve(value, place)?),
            plain => serde_json::to_value(plain).map_err(|e| WiringError::Unsupported {
                place: place.to_owned(),
                problem: format!("pattern is not plain data: {e}"),
            })?,
        })
    }

    fn reference(&self, name: &str) -> Option<String> {
        match name {
            "AWS::StackName" => Some(LOCAL_STACK_NAME.to_owned()),
            "AWS::Region" => Some(LOCAL_REGION.to_owned()),
            "AWS::AccountId" => Some(LOCAL_ACCOUNT.to_owned()),
            "AWS::Partition" => Some("aws".to_owned()),
            _ if name == self.bus_id => Some(self.bus_name.clone()),
            _ if name == self.bucket_id => Some(self.bucket_name.clone()),
            _ => self.parameters.get(name).cloned(),
        }
    }

    fn substitute(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}')? + start;
            out.push_str(&self.reference(&rest[start + 2..end])?);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// An intrinsic's name without its `!`.
fn tag_of(tagged: &serde_yaml_ng::value::TaggedValue) -> String {
    tagged.tag.to_string().trim_start_matches('!').to_owned()
}

/// EventBridge pattern matching for the literal-value subset: every key of the pattern
/// must be present in the event; an array lists accepted values; an object recurses.
pub fn pattern_matches(pattern: &Json, event: &Json) -> bool {
    match pattern {
        Json::Object(fields) => fields.iter().all(|(key, expected)| match event.get(key) {
            Some(actual) => pattern_matches(expected, actual),
            None => false,
        }),
        Json::Array(accepted) => accepted.iter().any(|value| match (value, event) {
            (value, Json::Array(actual)) => actual.contains(value),
            (value, actual) => value == actual,
        }),
        literal => literal == event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rates_parse() {
        assert_eq!(
            parse_rate("rate(15 minutes)"),
            Some(Duration::from_secs(900))
        );
        assert_eq!(parse_rate("rate(1 hour)"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_rate("cron(0 12 * * ? *)"), None);
        assert_eq!(parse_rate("rate(0 minutes)"), None);
    }

    #[test]
    fn patterns_match_literal_values() {
        let pattern =
            json!({"source": ["aws.sms"], "detail-type": ["Server Migration Job State Change"]});
        let event = json!({"source": "aws.sms", "detail-type": "Server Migration Job State Change", "detail": {}});
        assert!(pattern_matches(&pattern, &event));
        assert!(!pattern_matches(&pattern, &json!({"source": "aws.sms"})));
        let nested = json!({"detail": {"state": ["FAILED", "PAUSED_ON_FAILURE"]}});
        assert!(pattern_matches(
            &nested,
            &json!({"detail": {"state": "FAILED"}})
        ));
        assert!(!pattern_matches(
            &nested,
            &json!({"detail": {"state": "ACTIVE"}})
        ));
    }
}
