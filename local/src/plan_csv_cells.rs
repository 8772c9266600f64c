//! What one row of the sheet says, read cell by cell: of its application as a whole
//! ([`row_choices`]) and of its server ([`server_settings`]); a value a column does
//! not take is named by its cell.

use autopilot_core::plan::{
    BootMode, LaunchMode, LaunchSettings, ReplicationRoute, ReplicationSettings, RightSizing,
    Settings,
};

use super::{RowProblem, SheetRow};

/// What a row says of its application as a whole.
pub(super) struct AppChoices {
    pub(super) launch: Option<LaunchMode>,
    pub(super) route: Option<ReplicationRoute>,
    pub(super) depends_on: Vec<String>,
    pub(super) window: Option<String>,
    pub(super) wave: Option<String>,
    pub(super) test_window: Option<String>,
    pub(super) archive: Option<bool>,
}

pub(super) fn row_choices(row: &SheetRow<'_>) -> Result<AppChoices, RowProblem> {
    let launch = match row.value("launch") {
        None => None,
        Some("automatic") => Some(LaunchMode::Automatic),
        Some("manual") => Some(LaunchMode::Manual),
        Some("rollback") => Some(LaunchMode::Rollback),
        Some(other) => {
            return Err((
                row.cell("launch"),
                format!("`{other}` is none of automatic, manual, rollback"),
            ))
        }
    };
    let route = match row.value("replicated_by") {
        None => None,
        Some("jobs") => Some(ReplicationRoute::Jobs),
        Some("app") => Some(ReplicationRoute::App),
        Some(other) => {
            return Err((
                row.cell("replicated_by"),
                format!("`{other}` is neither jobs nor app"),
            ))
        }
    };
    let depends_on = names(row, "depends_on").unwrap_or_default();
    let archive = yes_no(row, "archive")?;
    let text = |column: &str| row.value(column).map(str::to_owned);
    Ok(AppChoices {
        launch,
        route,
        depends_on,
        window: text("window"),
        wave: text("wave"),
        test_window: text("test_window"),
        archive,
    })
}

/// `yes` or `no` (or `true`, `false`) in `column`, when filled.
fn yes_no(row: &SheetRow<'_>, column: &str) -> Result<Option<bool>, RowProblem> {
    match row.value(column) {
        None => Ok(None),
        Some("yes" | "true") => Ok(Some(true)),
        Some("no" | "false") => Ok(Some(false)),
        Some(other) => Err((row.cell(column), format!("`{other}` is neither yes nor no"))),
    }
}

/// One of `choices` (each written as the sheet writes it) in `column`, when filled.
fn one_of<T: Copy>(
    row: &SheetRow<'_>,
    column: &str,
    choices: &[(&str, T)],
) -> Result<Option<T>, RowProblem> {
    let Some(value) = row.value(column) else {
        return Ok(None);
    };
    match choices.iter().find(|(name, _)| *name == value) {
        Some((_, chosen)) => Ok(Some(*chosen)),
        None => {
            let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
            let expected = names.join(", ");
            Err((row.cell(column), format!("`{value}` is none of {expected}")))
        }
    }
}

/// The names a cell lists, separated by `;`.
fn names(row: &SheetRow<'_>, column: &str) -> Option<Vec<String>> {
    row.value(column).map(|v| {
        v.split(';')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// The settings a row gives its server.
pub(super) fn server_settings(row: &SheetRow<'_>) -> Result<Settings, RowProblem> {
    let text = |column: &str| row.value(column).map(str::to_owned);
    let launch = LaunchSettings {
        instance_type: text("instance_type"),
        subnet: text("subnet"),
        security_group: text("security_group"),
        security_groups: names(row, "security_groups"),
        test_subnet: text("test_subnet"),
        test_security_groups: names(row, "test_security_groups"),
        vpc: text("vpc"),
        ec2_key_name: text("key_pair"),
        iam_instance_profile_name: text("instance_profile"),
        right_sizing: one_of(
            row,
            "right_sizing",
            &[("none", RightSizing::None), ("basic", RightSizing::Basic)],
        )?,
        byol: yes_no(row, "byol")?,
        copy_private_ip: yes_no(row, "copy_private_ip")?,
        boot_mode: one_of(
            row,
            "boot_mode",
            &[
                ("legacy_bios", BootMode::LegacyBios),
                ("uefi", BootMode::Uefi),
                ("use_source", BootMode::UseSource),
            ],
        )?,
        ..LaunchSettings::default()
    };
    let replication = ReplicationSettings {
        staging_subnet: text("staging_subnet"),
        ..ReplicationSettings::default()
    };
    Ok(Settings {
        launch,
        replication,
    })
}
