//! SMS operations on the wire: parse an awsJson1.1 request body into a typed request,
//! act on the engine, render the model's output shape. One file per SMS resource:
//!
//! - `catalog.rs`: GetConnectors, DisassociateConnector, ImportServerCatalog, GetServers,
//!   DeleteServerCatalog;
//! - `jobs.rs`: CreateReplicationJob, GetReplicationJobs, GetReplicationRuns,
//!   UpdateReplicationJob, DeleteReplicationJob, StartOnDemandReplicationRun;
//! - `apps.rs`: CreateApp, GetApp, ListApps, UpdateApp, DeleteApp, Start/StopAppReplication,
//!   LaunchApp, TerminateApp;
//! - `app_config.rs`: Put/Get/Delete of an app's launch and replication configurations;
//! - `templates.rs`: GenerateTemplate, GenerateChangeSet;
//! - this file: the dispatch on [`Operation`], the request readers and paging.
//!
//! Inputs are read field by field from the JSON so that a wrong type is a
//! SerializationException and a missing required member a
//! MissingRequiredParameterException, as the service answered. Checks run in the order
//! the emulator has always made them, which callers can observe when a request has
//! several faults: where a check needs state while the body is still being read (a group
//! naming a server outside the catalog), the reader asks a read-only view of the engine.
//! Outputs leave out absent members rather than sending nulls. Lists keep a stable order
//! (catalog order for servers, creation order for jobs and apps, oldest first for runs)
//! and page with an opaque `nextToken` bound to the operation and its filters.

mod app_config;
mod apps;
mod catalog;
mod jobs;
mod templates;

use serde_json::Value;

use crate::page_token::Binding;
use crate::sms::engine::{AppKey, Engine, Millis};
use crate::sms::protocol::{compact, ApiError, ErrorCode, LicenseType, Operation, OutputFormat};

/// Default `maxResults` the model documents for most list operations.
const DEFAULT_PAGE: usize = 50;
/// ListApps documents a default of 100.
const DEFAULT_APPS_PAGE: usize = 100;
/// Largest page the emulator accepts.
const MAX_PAGE: i64 = 100;

/// Runs one operation on the engine and renders its answer.
pub(crate) fn call(engine: &mut Engine, op: Operation, input: &Value) -> Result<Value, ApiError> {
    require_object(input)?;
    let out = match op {
        Operation::GetConnectors => catalog::get_connectors(engine, input),
        Operation::DisassociateConnector => catalog::disassociate_connector(engine, input),
        Operation::ImportServerCatalog => catalog::import_server_catalog(engine),
        Operation::GetServers => catalog::get_servers(engine, input),
        Operation::DeleteServerCatalog => catalog::delete_server_catalog(engine),
        Operation::CreateReplicationJob => jobs::create_replication_job(engine, input),
        Operation::GetReplicationJobs => jobs::get_replication_jobs(engine, input),
        Operation::GetReplicationRuns => jobs::get_replication_runs(engine, input),
        Operation::UpdateReplicationJob => jobs::update_replication_job(engine, input),
        Operation::DeleteReplicationJob => jobs::delete_replication_job(engine, input),
        Operation::StartOnDemandReplicationRun => jobs::start_on_demand_run(engine, input),
        Operation::CreateApp => apps::create_app(engine, input),
        Operation::GetApp => apps::get_app(engine, input),
        Operation::ListApps => apps::list_apps(engine, input),
        Operation::UpdateApp => apps::update_app(engine, input),
        Operation::DeleteApp => apps::delete_app(engine, input),
        Operation::PutAppLaunchConfiguration => app_config::put_launch(engine, input),
        Operation::GetAppLaunchConfiguration => app_config::get_launch(engine, input),
        Operation::DeleteAppLaunchConfiguration => app_config::delete_launch(engine, input),
        Operation::PutAppReplicationConfiguration => app_config::put_replication(engine, input),
        Operation::GetAppReplicationConfiguration => app_config::get_replication(engine, input),
        Operation::DeleteAppReplicationConfiguration => {
            app_config::delete_replication(engine, input)
        }
        Operation::StartAppReplication => apps::start_app_replication(engine, input),
        Operation::StopAppReplication => apps::stop_app_replication(engine, input),
        Operation::LaunchApp => apps::launch_app(engine, input),
        Operation::TerminateApp => apps::terminate_app(engine, input),
        Operation::GenerateTemplate => templates::generate_template(engine, input),
        Operation::GenerateChangeSet => templates::generate_change_set(engine, input),
        Operation::DeleteAppValidationConfiguration
        | Operation::GetAppValidationConfiguration
        | Operation::GetAppValidationOutput
        | Operation::ImportAppCatalog
        | Operation::NotifyAppValidationOutput
        | Operation::PutAppValidationConfiguration
        | Operation::StartOnDemandAppReplication => Err(ApiError::not_implemented(op.name())),
    }?;
    Ok(compact(out))
}

/// Runs the operation a wire name denotes; a name the emulator does not serve is
/// answered "not implemented" (after the body check, as for every operation).
pub(crate) fn call_named(
    engine: &mut Engine,
    name: &str,
    input: &Value,
) -> Result<Value, ApiError> {
    match Operation::from_name(name) {
        Some(op) => call(engine, op, input),
        None => {
            require_object(input)?;
            Err(ApiError::not_implemented(name))
        }
    }
}

fn require_object(input: &Value) -> Result<(), ApiError> {
    if input.is_object() {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Serialization,
            "The request body must be a JSON object",
        ))
    }
}

/// The app named by `appId`, or the model's error.
fn app_arg(engine: &Engine, input: &Value) -> Result<AppKey, ApiError> {
    engine.find_app(&req_str(input, "appId")?)
}

/// The app named by `appId` for a call that changes it: refused while it is DELETING.
fn app_to_change(engine: &Engine, input: &Value) -> Result<AppKey, ApiError> {
    engine.changeable(app_arg(engine, input)?)
}

fn serialization(field: &str, expected: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Serialization,
        format!("{field} must be {expected}"),
    )
}

fn opt_str(v: &Value, k: &str) -> Result<Option<String>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(serialization(k, "a string")),
    }
}

fn req_str(v: &Value, k: &str) -> Result<String, ApiError> {
    match opt_str(v, k)? {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(ApiError::invalid(format!("{k} must not be empty"))),
        None => Err(ApiError::missing(k)),
    }
}

fn opt_bool(v: &Value, k: &str) -> Result<Option<bool>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(serialization(k, "a boolean")),
    }
}

fn opt_i64(v: &Value, k: &str) -> Result<Option<i64>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| serialization(k, "an integer")),
    }
}

fn opt_i32(v: &Value, k: &str) -> Result<Option<i32>, ApiError> {
    match opt_i64(v, k)? {
        None => Ok(None),
        Some(n) => i32::try_from(n)
            .map(Some)
            .map_err(|_| ApiError::invalid(format!("{k} is out of range"))),
    }
}

/// Epoch seconds (integer or fractional) to simulated milliseconds.
fn opt_time(v: &Value, k: &str) -> Result<Option<Millis>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => {
            let s = n
                .as_f64()
                .ok_or_else(|| serialization(k, "a timestamp in epoch seconds"))?;
            if !s.is_finite() || s.abs() > 1e11 {
                return Err(ApiError::invalid(format!("{k} is out of range")));
            }
            Ok(Some((s * 1000.0).round() as Millis))
        }
    }
}

fn opt_license(v: &Value) -> Result<Option<LicenseType>, ApiError> {
    match opt_str(v, "licenseType")? {
        None => Ok(None),
        Some(s) => LicenseType::parse(&s).map(Some).ok_or_else(|| {
            ApiError::invalid(format!("licenseType must be AWS or BYOL, got {s:?}"))
        }),
    }
}

fn format_arg(v: &Value, k: &str) -> Result<OutputFormat, ApiError> {
    match opt_str(v, k)? {
        None => Ok(OutputFormat::Json),
        Some(s) => OutputFormat::parse(&s)
            .ok_or_else(|| ApiError::invalid(format!("{k} must be JSON or YAML, got {s:?}"))),
    }
}

fn list_arg(v: &Value, k: &str) -> Result<Vec<Value>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(_) => Err(serialization(k, "a list")),
    }
}

/// Resolves `maxResults` / `nextToken` into a slice `[from, to)` of `total` items.
fn page(
    op: Operation,
    filter: &str,
    input: &Value,
    total: usize,
    default: usize,
) -> Result<(usize, usize, Option<String>), ApiError> {
    let size = match opt_i64(input, "maxResults")? {
        None => default,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::invalid(format!(
                "maxResults must be between 1 and {MAX_PAGE}, got {n}"
            )))
        }
    };
    let binding = Binding::of(op.name(), filter);
    let from = match opt_str(input, "nextToken")? {
        None => 0,
        Some(token) => binding
            .offset(&token)
            .ok_or_else(|| ApiError::invalid("The nextToken is not valid"))?,
    };
    let from = from.min(total);
    let to = from.saturating_add(size).min(total);
    let next = (to < total).then(|| binding.token(to));
    Ok((from, to, next))
}
