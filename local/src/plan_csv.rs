//! `autopilot-local csv-to-plan`: the spreadsheet engineers already keep (one row per
//! server) turned into a wave plan. Columns, by header name (case and spaces ignored):
//! `application`, `group`, `vm_name` (required); `launch_order`, `depends_on` (names
//! separated by `;`), `launch` (`automatic` or `manual`), `replicated_by` (`jobs` or
//! `app`), and launch settings `instance_type`, `subnet`, `security_group`, `vpc`,
//! `key_pair`, `instance_profile`. Every bad row is named with what is wrong, and no plan
//! is written unless all rows are sound.

use std::collections::BTreeMap;

use autopilot_core::plan::{
    LaunchMode, LaunchSettings, Plan, PlannedApp, PlannedGroup, ReplicationRoute, Settings,
    PLAN_VERSION,
};

/// The rows that could not become a plan, each named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the spreadsheet has {} problem(s):\n  {}", .0.len(), .0.join("\n  "))]
pub struct CsvProblems(pub Vec<String>);

/// Reads `text` (CSV with a header row) into a plan.
pub fn plan_from_csv(text: &str) -> Result<Plan, CsvProblems> {
    // Spreadsheets save "CSV UTF-8" with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = records(text)
        .map_err(|problem| CsvProblems(vec![problem]))?
        .into_iter();
    let header: Vec<String> = rows
        .next()
        .ok_or_else(|| CsvProblems(vec!["the file is empty: a header row is needed".into()]))?
        .1
        .iter()
        .map(|name| name.trim().to_ascii_lowercase().replace([' ', '-'], "_"))
        .collect();
    let mut problems = Vec::new();
    for required in ["application", "group", "vm_name"] {
        if !header.iter().any(|h| h == required) {
            problems.push(format!("the header has no `{required}` column"));
        }
    }
    if !problems.is_empty() {
        return Err(CsvProblems(problems));
    }
    let mut builder = Builder::default();
    for (line, fields) in rows {
        if fields.len() != header.len() && !fields.iter().all(|f| f.trim().is_empty()) {
            problems.push(format!(
                "row {line}: {} fields where the header has {} (a value holding a comma needs quotes)",
                fields.len(),
                header.len()
            ));
            continue;
        }
        let row: BTreeMap<&str, &str> = header
            .iter()
            .map(String::as_str)
            .zip(fields.iter().map(|f| f.trim()))
            .collect();
        if row.values().all(|v| v.is_empty()) {
            continue;
        }
        if let Err(problem) = builder.add(&row, line) {
            problems.push(format!("row {line}: {problem}"));
        }
    }
    if !problems.is_empty() {
        return Err(CsvProblems(problems));
    }
    Ok(builder.plan())
}

#[derive(Default)]
struct Builder {
    apps: Vec<PlannedApp>,
    /// Where each VM was first listed.
    seen: BTreeMap<String, usize>,
}

impl Builder {
    fn add(&mut self, row: &BTreeMap<&str, &str>, line: usize) -> Result<(), String> {
        let field = |name: &str| row.get(name).copied().filter(|v| !v.is_empty());
        let (app, group, vm) = match (field("application"), field("group"), field("vm_name")) {
            (Some(app), Some(group), Some(vm)) => (app, group, vm),
            _ => return Err("application, group and vm_name are all needed".into()),
        };
        if let Some(first) = self.seen.insert(vm.to_owned(), line) {
            return Err(format!("`{vm}` is already listed in row {first}"));
        }
        let launch_order = field("launch_order")
            .map(|v| {
                v.parse::<i32>()
                    .map_err(|_| format!("launch_order `{v}` is not a whole number"))
            })
            .transpose()?;
        let launch = match field("launch") {
            None => None,
            Some("automatic") => Some(LaunchMode::Automatic),
            Some("manual") => Some(LaunchMode::Manual),
            Some(other) => return Err(format!("launch `{other}` is neither automatic nor manual")),
        };
        let route = match field("replicated_by") {
            None => None,
            Some("jobs") => Some(ReplicationRoute::Jobs),
            Some("app") => Some(ReplicationRoute::App),
            Some(other) => return Err(format!("replicated_by `{other}` is neither jobs nor app")),
        };
        let depends_on: Vec<String> = field("depends_on")
            .map(|v| {
                v.split(';')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let planned = self.app(app, launch, route, &depends_on)?;
        let groups = &mut planned.groups;
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
                groups.len() - 1
            }
        };
        let planned_group = &mut groups[index];
        if planned_group.launch_order.is_none() {
            planned_group.launch_order = launch_order;
        }
        if launch_order.is_some() && planned_group.launch_order != launch_order {
            return Err(format!(
                "launch_order {} differs from {:?}, given earlier for group `{group}`",
                launch_order.unwrap_or_default(),
                planned_group.launch_order
            ));
        }
        planned_group.servers.push(vm.to_owned());
        let settings = launch_settings(&field);
        if settings != LaunchSettings::default() {
            let server = Settings {
                launch: settings,
                ..Settings::default()
            };
            planned_group.server_settings.insert(vm.to_owned(), server);
        }
        Ok(())
    }

    /// The application `name`, created on its first row. A row that leaves a column
    /// blank takes what the earlier rows gave; one that fills it must agree with them.
    fn app(
        &mut self,
        name: &str,
        launch: Option<LaunchMode>,
        route: Option<ReplicationRoute>,
        depends_on: &[String],
    ) -> Result<&mut PlannedApp, String> {
        let index = match self.apps.iter().position(|a| a.name == name) {
            Some(index) => index,
            None => {
                self.apps.push(PlannedApp {
                    name: name.to_owned(),
                    description: None,
                    tags: BTreeMap::new(),
                    launch: LaunchMode::default(),
                    window: None,
                    depends_on: Vec::new(),
                    replicated_by: ReplicationRoute::default(),
                    settings: Settings::default(),
                    groups: Vec::new(),
                });
                self.apps.len() - 1
            }
        };
        let app = &mut self.apps[index];
        let first = app.groups.is_empty();
        let agree = |column: &str, same: bool| {
            if same || first {
                Ok(())
            } else {
                Err(format!(
                    "{column} differs from the earlier rows of `{name}`"
                ))
            }
        };
        if let Some(launch) = launch {
            agree("launch", app.launch == launch)?;
            app.launch = launch;
        }
        if let Some(route) = route {
            agree("replicated_by", app.replicated_by == route)?;
            app.replicated_by = route;
        }
        if !depends_on.is_empty() {
            agree(
                "depends_on",
                app.depends_on.is_empty() || app.depends_on == depends_on,
            )?;
            app.depends_on = depends_on.to_vec();
        }
        Ok(app)
    }

    fn plan(self) -> Plan {
        Plan {
            version: PLAN_VERSION,
            prune: false,
            defaults: Settings::default(),
            applications: self.apps,
        }
    }
}

fn launch_settings<'a>(field: &impl Fn(&str) -> Option<&'a str>) -> LaunchSettings {
    let text = |name: &str| field(name).map(str::to_owned);
    LaunchSettings {
        instance_type: text("instance_type"),
        subnet: text("subnet"),
        security_group: text("security_group"),
        vpc: text("vpc"),
        ec2_key_name: text("key_pair"),
        iam_instance_profile_name: text("instance_profile"),
        ..LaunchSettings::default()
    }
}

/// CSV records (RFC 4180: quoted fields may hold commas, newlines and `""`), each with
/// the 1-based line it starts on.
fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let (mut fields, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut line, mut start) = (false, 1, 1);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                records.push((start, std::mem::take(&mut fields)));
                line += 1;
                start = line;
            }
            (false, '\r') => {}
            (_, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
        }
    }
    if quoted {
        return Err(format!("row {start}: a quoted field is never closed"));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((start, fields));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_quotes_and_blank_columns_are_read_as_a_spreadsheet_means_them() {
        let csv = "\u{feff}application,group,vm_name,launch,depends_on,launch_order\n\
                   shop,web,web-01,manual,base,\n\
                   shop,web,\"web,02\",,,2\n\
                   base,db,db-01,,,1\n";
        let plan = plan_from_csv(csv).unwrap();
        let shop = &plan.applications[0];
        assert_eq!(
            shop.launch,
            LaunchMode::Manual,
            "a blank takes the earlier rows' value"
        );
        assert_eq!(shop.depends_on, ["base"]);
        assert_eq!(shop.groups[0].servers, ["web-01", "web,02"]);
        assert_eq!(shop.groups[0].launch_order, Some(2), "given on a later row");
    }

    #[test]
    fn a_row_with_more_fields_than_the_header_is_refused() {
        let csv = "application,group,vm_name,security_group\nshop,web,web-01,sg-1,sg-2\n";
        let problems = plan_from_csv(csv).unwrap_err().0;
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("row 2: 5 fields where the header has 4"),
            "{problems:?}"
        );
    }
}
