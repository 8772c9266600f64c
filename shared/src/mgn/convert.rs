//! The one place where aws-sdk-mgn wire types become the core's domain types. A source
//! server without its id cannot be acted on safely, so it is refused with the name of
//! the field; callers skip it and say so. A field MGN words in a way the core cannot
//! read (a lag that is no ISO 8601 duration) is left unread rather than guessed.

use aws_sdk_mgn::types as mgn;
use aws_sdk_mgn::types::{DataReplicationState, LifeCycleState};
use chrono::{DateTime, Utc};

use super::vocabulary;
use crate::model::{SourceServer, VmServer};
use crate::paging::MissingField;

/// A source server as the core reads it.
pub fn source_server(value: &mgn::SourceServer) -> Result<SourceServer, MissingField> {
    let id = value
        .source_server_id()
        .filter(|id| !id.is_empty())
        .ok_or(MissingField {
            service: "MGN",
            shape: "SourceServer",
            field: "sourceServerID",
        })?;
    let life_cycle = value
        .life_cycle()
        .and_then(|l| l.state())
        .cloned()
        .unwrap_or_else(|| LifeCycleState::from(""));
    let cutover = vocabulary::cutover_state(&life_cycle);
    let info = value.data_replication_info();
    let state = info
        .and_then(|i| i.data_replication_state())
        .cloned()
        .unwrap_or_else(|| DataReplicationState::from(""));
    Ok(SourceServer {
        id: id.into(),
        vm: identification(value),
        replication: vocabulary::replication_state(&state, cutover.phase),
        cutover,
        replication_error: info
            .and_then(|i| i.data_replication_error())
            .and_then(|e| e.error())
            .map(|e| e.as_str().to_owned()),
        lag_seconds: info
            .and_then(|i| i.lag_duration())
            .and_then(duration_seconds),
        sync_eta: info.and_then(|i| i.eta_date_time()).and_then(date_time),
        archived: value.is_archived().unwrap_or(false),
        application_id: value
            .application_id()
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
    })
}

/// The identification hints in the catalog's fields. MGN keeps no VM name: a plan's
/// bare member names match the hostname, as `autopilot-local plan` rehearses them.
fn identification(value: &mgn::SourceServer) -> VmServer {
    let hints = value
        .source_properties()
        .and_then(|p| p.identification_hints());
    let text = |field: Option<&str>| field.filter(|v| !v.is_empty()).map(str::to_owned);
    let hostname = text(hints.and_then(|h| h.hostname()));
    VmServer {
        vm_name: hostname.clone(),
        vm_path: text(hints.and_then(|h| h.vm_path())),
        hostname,
        fqdn: text(hints.and_then(|h| h.fqdn())),
        vmware_uuid: text(hints.and_then(|h| h.vm_ware_uuid())),
        user_provided_id: text(value.user_provided_id()),
        ..VmServer::default()
    }
}

/// An RFC 3339 date-time, as MGN words them.
pub fn date_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whole seconds of an ISO 8601 duration (`PT1H2M3.5S`, `P1DT2H`, `P2W`); `None` for
/// anything else. Years and months have no fixed length and are refused.
pub fn duration_seconds(text: &str) -> Option<i64> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut seconds = components(date, &[('W', 604_800), ('D', 86_400)])?;
    if let Some(time) = time {
        seconds += components(time, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    (!date.is_empty() || time.is_some()).then_some(seconds.floor() as i64)
}

/// The sum of `part` read as numbers each followed by one of `units`, in that order.
fn components(part: &str, units: &[(char, i64)]) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = part;
    let mut allowed = units;
    while !rest.is_empty() {
        let end = rest.find(|c: char| c.is_ascii_alphabetic())?;
        let (number, unit) = (&rest[..end], rest[end..].chars().next()?);
        let at = allowed.iter().position(|(u, _)| *u == unit)?;
        let value: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
        if number.is_empty() || (unit != 'S' && number.contains('.')) {
            return None;
        }
        total += value * allowed[at].1 as f64;
        allowed = &allowed[at + 1..];
        rest = &rest[end + 1..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_read_as_seconds_and_anything_else_is_left_unread() {
        let read = [
            ("PT0S", 0),
            ("PT45S", 45),
            ("PT1H2M3.9S", 3_723),
            ("P1DT1S", 86_401),
            ("P2W", 1_209_600),
            ("P1D", 86_400),
        ];
        for (text, seconds) in read {
            assert_eq!(duration_seconds(text), Some(seconds), "{text}");
        }
        for text in [
            "", "P", "PT", "PT1.5H", "PT5M1H", "P1Y", "P1M", "1H", "PT-1S", "PTS", "PT1X",
        ] {
            assert_eq!(duration_seconds(text), None, "{text}");
        }
    }

    #[test]
    fn a_source_server_reads_in_the_projects_words() {
        let wire = mgn::SourceServer::builder()
            .source_server_id("s-1234567890abcdef0")
            .is_archived(false)
            .user_provided_id("cmdb-7")
            .life_cycle(
                mgn::LifeCycle::builder()
                    .state(LifeCycleState::ReadyForTest)
                    .build(),
            )
            .data_replication_info(
                mgn::DataReplicationInfo::builder()
                    .data_replication_state(DataReplicationState::Stalled)
                    .data_replication_error(
                        mgn::DataReplicationError::builder()
                            .error(mgn::DataReplicationErrorString::AgentNotSeen)
                            .build(),
                    )
                    .lag_duration("PT2H")
                    .eta_date_time("2026-12-06T10:00:00Z")
                    .build(),
            )
            .source_properties(
                mgn::SourceProperties::builder()
                    .identification_hints(
                        mgn::IdentificationHints::builder()
                            .hostname("web-1")
                            .fqdn("web-1.corp.example")
                            .vm_path("/dc/vm/web/web-1-vm")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let server = source_server(&wire).expect("converts");
        assert_eq!(server.id.as_str(), "s-1234567890abcdef0");
        assert_eq!(server.name(), Some("web-1"));
        assert_eq!(server.vm.vm_path.as_deref(), Some("/dc/vm/web/web-1-vm"));
        assert_eq!(server.vm.hostname.as_deref(), Some("web-1"));
        assert_eq!(server.vm.user_provided_id.as_deref(), Some("cmdb-7"));
        assert_eq!(server.replication.status, "STALLED");
        assert!(server.replication.is_failure());
        assert_eq!(server.replication_error.as_deref(), Some("AGENT_NOT_SEEN"));
        assert_eq!(server.lag_seconds, Some(7_200));
        assert_eq!(server.sync_eta, date_time("2026-12-06T10:00:00Z"));

        let nameless = mgn::SourceServer::builder().build();
        let missing = source_server(&nameless).expect_err("no id");
        assert_eq!(
            missing.to_string(),
            "MGN returned a SourceServer without `sourceServerID`"
        );
    }
}
