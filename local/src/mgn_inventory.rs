//! MGN's inventory sheet (its import CSV) from a plan: one row per member the plan
//! names literally (a VM name, MGN's user-provided id), with its application and wave,
//! so `csv-to-plan --mgn-inventory` turns one spreadsheet into both the plan and the
//! inventory mgn-import has MGN import. Members given as selectors name no server yet
//! and are left out.

use autopilot_core::plan::Plan;

/// The columns MGN's import reads for waves, applications and servers (its user
/// guide's import parameters).
const HEADER: [&str; 3] = [
    "mgn:wave:name",
    "mgn:app:name",
    "mgn:server:user-provided-id",
];

/// The sheet, header first; empty of rows when the plan names no server literally.
pub fn inventory_csv(plan: &Plan) -> String {
    let mut csv = HEADER.join(",");
    csv.push('\n');
    for app in &plan.applications {
        let wave = app.wave.as_deref().unwrap_or_default();
        for group in &app.groups {
            for member in group.servers.iter().filter(|m| !m.contains(':')) {
                let row = [wave, app.name.as_str(), member.as_str()].map(field);
                csv.push_str(&row.join(","));
                csv.push('\n');
            }
        }
    }
    csv
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_literal_member_is_a_row_with_its_application_and_wave() {
        let plan = Plan::parse(
            "version: 1
applications:
  - name: shop
    wave: \"wave 1, east\"
    groups: [{name: web, servers: [web-01, \"vmName:web-*\"]}]
  - name: billing
    groups: [{name: db, servers: [db-01]}]
",
        )
        .expect("a plan");
        assert_eq!(
            inventory_csv(&plan),
            "mgn:wave:name,mgn:app:name,mgn:server:user-provided-id\n\
             \"wave 1, east\",shop,web-01\n\
             ,billing,db-01\n"
        );
    }
}
