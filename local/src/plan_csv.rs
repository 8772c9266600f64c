//! `autopilot-local csv-to-plan`: the spreadsheet engineers already keep (one row per
//! server) turned into a wave plan. Columns, by header name (case and spaces ignored):
//! `application`, `group`, `vm_name` (required; on MGN the hostname); `launch_order`,
//! `depends_on` (names separated by `;`), `launch` (`automatic` or `manual`),
//! `replicated_by` (`jobs` or `app`), `window`, and for MGN `wave`, `test_window`,
//! `archive` (`yes` or `no`), and launch settings `instance_type`, `subnet`,
//! `security_group`, `vpc`, `key_pair`, `instance_profile`, and for MGN
//! `security_groups`, `test_subnet`, `test_security_groups` (groups separated by `;`),
//! `right_sizing` (`none`, `basic`), `byol`, `copy_private_ip` (`yes`, `no`), `boot_mode`
//! (`legacy_bios`, `uefi`, `use_source`) and the replication's `staging_subnet`. A
//! column it does not know is refused, with the known name closest to it. Every problem is named by the row and column a spreadsheet shows
//! (the header is row 1, the first column A), the plan's own rules (dependencies that
//! exist and do not loop, ...) included, and no plan is written unless all rows are sound.

use std::collections::BTreeMap;

use crate::csv_records::records;

use autopilot_core::plan::shape::Problem;
use autopilot_core::plan::{
    rules, Finalize, LaunchMode, Plan, PlannedApp, PlannedGroup, ReplicationRoute, Settings,
    PLAN_VERSION,
};

/// Every column the sheet may have, as its header is normalised.
const COLUMNS: [&str; 25] = [
    "application",
    "group",
    "vm_name",
    "launch_order",
    "depends_on",
    "launch",
    "replicated_by",
    "window",
    "wave",
    "test_window",
    "archive",
    "instance_type",
    "subnet",
    "security_group",
    "security_groups",
    "test_subnet",
    "test_security_groups",
    "vpc",
    "key_pair",
    "instance_profile",
    "right_sizing",
    "byol",
    "copy_private_ip",
    "boot_mode",
    "staging_subnet",
];

/// The rows that could not become a plan, each named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the spreadsheet has {} problem{}:\n  {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.join("\n  "))]
pub struct CsvProblems(pub Vec<String>);

/// A place in the sheet: a row (the header is row 1), and a column when one is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell {
    row: usize,
    column: Option<usize>,
}

/// The header's columns, normalised, by position.
struct Header(Vec<String>);

impl Header {
    fn position(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|h| h == name)
    }

    /// `row 4, column D (launch_order)`.
    fn name(&self, cell: Cell) -> String {
        match cell.column {
            Some(at) => format!(
                "row {}, column {} ({})",
                cell.row,
                column_letters(at),
                self.0[at]
            ),
            None => format!("row {}", cell.row),
        }
    }
}

/// A spreadsheet's letters for the 0-based column `at`: A, ..., Z, AA, AB, ...
fn column_letters(at: usize) -> String {
    let mut letters = Vec::new();
    let mut rest = at + 1;
    while rest > 0 {
        let digit = u8::try_from((rest - 1) % 26).expect("below 26");
        letters.push(char::from(b'A' + digit));
        rest = (rest - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// Reads `text` (CSV with a header row) into a plan.
pub fn plan_from_csv(text: &str) -> Result<Plan, CsvProblems> {
    // Spreadsheets save "CSV UTF-8" with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = records(text)
        .map_err(|problem| CsvProblems(vec![problem]))?
        .into_iter();
    let header = Header(
        rows.next()
            .ok_or_else(|| CsvProblems(vec!["the file is empty: a header row is needed".into()]))?
            .iter()
            .map(|name| name.trim().to_ascii_lowercase().replace([' ', '-'], "_"))
            .collect(),
    );
    check_header(&header)?;
    let mut problems = Vec::new();
    let mut builder = Builder::default();
    for (index, fields) in rows.enumerate() {
        let row = index + 2;
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if fields.len() != header.0.len() {
            problems.push(format!(
                "row {row}: {} fields where the header has {} (a value holding a comma needs quotes)",
                fields.len(),
                header.0.len()
            ));
            continue;
        }
        let values: Vec<&str> = fields.iter().map(|f| f.trim()).collect();
        let sheet_row = SheetRow {
            header: &header,
            values: &values,
            row,
        };
        if let Err((cell, problem)) = builder.add(&sheet_row) {
            problems.push(format!("{}: {problem}", header.name(cell)));
        }
    }
    if !problems.is_empty() {
        return Err(CsvProblems(problems));
    }
    let plan = builder.plan();
    let broken = rules::check(&plan);
    if broken.is_empty() {
        return Ok(plan);
    }
    let named = broken.iter().map(|problem| {
        let cell = builder.origins.cell_of(problem, &header);
        format!("{}: {}", header.name(cell), problem.message)
    });
    Err(CsvProblems(named.collect()))
}

/// The required columns are there, and every column is one this command knows.
fn check_header(header: &Header) -> Result<(), CsvProblems> {
    let mut problems = Vec::new();
    for required in ["application", "group", "vm_name"] {
        if header.position(required).is_none() {
            problems.push(format!("the header has no `{required}` column"));
        }
    }
    for (at, name) in header.0.iter().enumerate() {
        let cell = Cell {
            row: 1,
            column: Some(at),
        };
        if name.is_empty() {
            problems.push(format!("{}: a column needs a name", header.name(cell)));
        } else if !COLUMNS.contains(&name.as_str()) {
            problems.push(format!(
                "{}: no column is called `{name}`; did you mean `{}`? (known columns: {})",
                header.name(cell),
                closest(name),
                COLUMNS.join(", ")
            ));
        } else if header.position(name) != Some(at) {
            problems.push(format!(
                "{}: `{name}` is a column already",
                header.name(cell)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CsvProblems(problems))
    }
}

/// The known column nearest to `name` by edit distance.
fn closest(name: &str) -> &'static str {
    COLUMNS
        .iter()
        .copied()
        .min_by_key(|known| edit_distance(name, known))
        .expect("there are columns")
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// One data row with its header.
struct SheetRow<'a> {
    header: &'a Header,
    values: &'a [&'a str],
    row: usize,
}

impl SheetRow<'_> {
    fn value(&self, column: &str) -> Option<&str> {
        let at = self.header.position(column)?;
        Some(self.values[at]).filter(|v| !v.is_empty())
    }

    fn cell(&self, column: &str) -> Cell {
        Cell {
            row: self.row,
            column: self.header.position(column),
        }
    }
}

/// Where in the sheet each part of the plan came from, to name the rows its rules
/// refuse.
#[derive(Default)]
struct Origins {
    /// Per application: its first row, the row that gave its dependencies, and per
    /// group its first row and each server's row.
    apps: Vec<AppOrigin>,
}

#[derive(Default)]
struct AppOrigin {
    row: usize,
    depends_on_row: Option<usize>,
    /// The row that gave each of its windows, by column.
    window_rows: BTreeMap<&'static str, usize>,
    groups: Vec<(usize, Vec<usize>)>,
}

impl Origins {
    /// The cell a plan problem at `applications[i]...` points to.
    fn cell_of(&self, problem: &Problem, header: &Header) -> Cell {
        let cell = |row: usize, column: &str| Cell {
            row,
            column: header.position(column),
        };
        let path = problem.path.as_str();
        let Some((app_at, rest)) = indexed(path, "applications[") else {
            return Cell {
                row: 1,
                column: None,
            };
        };
        let Some(app) = self.apps.get(app_at) else {
            return Cell {
                row: 1,
                column: None,
            };
        };
        if rest.starts_with(".dependsOn") {
            return cell(app.depends_on_row.unwrap_or(app.row), "depends_on");
        }
        for (field, column) in [(".testWindow", "test_window"), (".window", "window")] {
            if rest.starts_with(field) {
                return cell(
                    app.window_rows.get(column).copied().unwrap_or(app.row),
                    column,
                );
            }
        }
        let Some((group_at, rest)) = indexed(rest, ".groups[") else {
            return cell(app.row, "application");
        };
        let Some((group_row, server_rows)) = app.groups.get(group_at) else {
            return cell(app.row, "group");
        };
        match indexed(rest, ".servers[") {
            Some((server_at, _)) => cell(
                server_rows.get(server_at).copied().unwrap_or(*group_row),
                "vm_name",
            ),
            None => cell(*group_row, "group"),
        }
    }
}

/// `3` and the rest of `applications[3].groups` after the prefix `applications[`.
fn indexed<'p>(path: &'p str, prefix: &str) -> Option<(usize, &'p str)> {
    let rest = path.strip_prefix(prefix)?;
    let close = rest.find(']')?;
    Some((rest[..close].parse().ok()?, &rest[close + 1..]))
}

#[derive(Default)]
struct Builder {
    apps: Vec<PlannedApp>,
    origins: Origins,
    /// Where each VM was first listed.
    seen: BTreeMap<String, usize>,
}

/// A problem of one row, at its cell.
type RowProblem = (Cell, String);

impl Builder {
    fn add(&mut self, row: &SheetRow<'_>) -> Result<(), RowProblem> {
        let (app, group, vm) = match (
            row.value("application"),
            row.value("group"),
            row.value("vm_name"),
        ) {
            (Some(app), Some(group), Some(vm)) => (app, group, vm),
            (app, group, _) => {
                let missing = if app.is_none() {
                    "application"
                } else if group.is_none() {
                    "group"
                } else {
                    "vm_name"
                };
                return Err((
                    row.cell(missing),
                    "application, group and vm_name are all needed".into(),
                ));
            }
        };
        if let Some(first) = self.seen.insert(vm.to_owned(), row.row) {
            return Err((
                row.cell("vm_name"),
                format!("`{vm}` is already listed in row {first}"),
            ));
        }
        let launch_order = row
            .value("launch_order")
            .map(|v| {
                v.parse::<i32>().map_err(|_| {
                    (
                        row.cell("launch_order"),
                        format!("`{v}` is not a whole number"),
                    )
                })
            })
            .transpose()?;
        let choices = row_choices(row)?;
        let app_at = self.app(app, &choices, row)?;
        self.place(app_at, group, vm, launch_order, row)
    }

    /// Adds `vm` to its group (created on its first row) with the row's settings.
    fn place(
        &mut self,
        app_at: usize,
        group: &str,
        vm: &str,
        launch_order: Option<i32>,
        row: &SheetRow<'_>,
    ) -> Result<(), RowProblem> {
        let groups = &mut self.apps[app_at].groups;
        let origin = &mut self.origins.apps[app_at].groups;
        let index = match groups.iter().position(|g| g.name == group) {
            Some(index) => index,
            None => {
                groups.push(PlannedGroup {
                    name: group.to_owned(),
                    launch_order,
                    servers: Vec::new(),
                    settings: Settings::default(),
                    server_settings: BTreeMap::new(),
                });
                origin.push((row.row, Vec::new()));
                groups.len() - 1
            }
        };
        let planned_group = &mut groups[index];
        match (planned_group.launch_order, launch_order) {
            (Some(earlier), Some(given)) if earlier != given => {
                return Err((
                    row.cell("launch_order"),
                    format!("{given} differs from {earlier}, given earlier for group `{group}`"),
                ));
            }
            (None, given) => planned_group.launch_order = given,
            _ => {}
        }
        planned_group.servers.push(vm.to_owned());
        origin[index].1.push(row.row);
        let settings = server_settings(row)?;
        if settings != Settings::default() {
            planned_group
                .server_settings
                .insert(vm.to_owned(), settings);
        }
        Ok(())
    }

    /// The index of application `name`, created on its first row.
    fn app_index(&mut self, name: &str, row: &SheetRow<'_>) -> usize {
        if let Some(index) = self.apps.iter().position(|a| a.name == name) {
            return index;
        }
        self.apps.push(PlannedApp {
            name: name.to_owned(),
            description: None,
            tags: BTreeMap::new(),
            launch: LaunchMode::default(),
            window: None,
            test_window: None,
            wave: None,
            archive: false,
            depends_on: Vec::new(),
            replicated_by: ReplicationRoute::default(),
            finalize: Finalize::default(),
            settings: Settings::default(),
            groups: Vec::new(),
        });
        self.origins.apps.push(AppOrigin {
            row: row.row,
            ..AppOrigin::default()
        });
        self.apps.len() - 1
    }

    /// The index of application `name` with what `row` says of it. A row that leaves a
    /// column blank takes what the earlier rows gave; one that fills it must agree with
    /// them.
    fn app(
        &mut self,
        name: &str,
        choices: &AppChoices,
        row: &SheetRow<'_>,
    ) -> Result<usize, RowProblem> {
        let index = self.app_index(name, row);
        let app = &mut self.apps[index];
        let first = app.groups.is_empty();
        let agree = |column: &str, same: bool| {
            if same || first {
                Ok(())
            } else {
                Err((
                    row.cell(column),
                    format!("differs from the earlier rows of `{name}`"),
                ))
            }
        };
        if let Some(launch) = choices.launch {
            agree("launch", app.launch == launch)?;
            app.launch = launch;
        }
        if let Some(route) = choices.route {
            agree("replicated_by", app.replicated_by == route)?;
            app.replicated_by = route;
        }
        for (column, chosen, held) in [
            ("window", &choices.window, &mut app.window),
            ("wave", &choices.wave, &mut app.wave),
            ("test_window", &choices.test_window, &mut app.test_window),
        ] {
            if let Some(value) = chosen {
                agree(column, held.is_none() || held.as_ref() == Some(value))?;
                if held.is_none() {
                    let rows = &mut self.origins.apps[index].window_rows;
                    rows.insert(column, row.row);
                }
                *held = Some(value.clone());
            }
        }
        if let Some(archive) = choices.archive {
            agree("archive", app.archive == archive)?;
            app.archive = archive;
        }
        if !choices.depends_on.is_empty() {
            agree(
                "depends_on",
                app.depends_on.is_empty() || app.depends_on == choices.depends_on,
            )?;
            if app.depends_on.is_empty() {
                self.origins.apps[index].depends_on_row = Some(row.row);
            }
            app.depends_on.clone_from(&choices.depends_on);
        }
        Ok(index)
    }

    fn plan(&self) -> Plan {
        Plan {
            version: PLAN_VERSION,
            prune: false,
            defaults: Settings::default(),
            applications: self.apps.clone(),
        }
    }
}

#[path = "plan_csv_cells.rs"]
mod cells;
use cells::{row_choices, server_settings, AppChoices};

#[cfg(test)]
#[path = "plan_csv_tests.rs"]
mod tests;
