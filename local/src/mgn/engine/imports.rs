//! StartImport: an inventory CSV in S3 (the local S3's directory) becomes waves,
//! applications and source servers. Rows are matched by `mgn:wave:name`,
//! `mgn:app:name` and `mgn:server:user-provided-id` (the user guide's import
//! parameters); what a row names that does not exist is created, what exists is
//! modified (its description, its tags, where it belongs). A server the import names
//! whose agent is not installed yet waits in PENDING_INSTALLATION; the agent, once
//! installed on a VM with that user-provided id, takes that server over. The task is
//! PENDING, then STARTED, then SUCCEEDED with what it created and modified and a
//! VALIDATION_ERROR for each row or column it could not use, or FAILED with a
//! PROCESSING_ERROR when the file cannot be read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::mgn::error::MgnError;
use crate::mgn::model::{ImportErrorType, ImportStatus, LifeCycleState};
use crate::scenario::{MgnServerSpec, ServerSpec};
use crate::schedule::Millis;

use super::{Action, Engine, GroupingKind, SourceServer};

/// One problem an import met (the model's ImportTaskError).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportProblem {
    pub at: Millis,
    /// VALIDATION_ERROR (a row or column it could not use) or PROCESSING_ERROR.
    pub kind: ImportErrorType,
    /// 1 is the header.
    pub row: Option<u64>,
    pub raw_error: String,
}

/// Created and modified, per kind of resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: u64,
    pub modified: u64,
}

/// An import task.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportTask {
    pub id: String,
    pub arn: String,
    pub bucket: String,
    pub key: String,
    pub owner: Option<String>,
    pub client_token: Option<String>,
    pub created: Millis,
    pub ended: Option<Millis>,
    pub status: ImportStatus,
    pub servers: Counts,
    pub applications: Counts,
    pub waves: Counts,
    pub tags: BTreeMap<String, String>,
    pub problems: Vec<ImportProblem>,
}

const IMPORT_STEP_SECS: u64 = 10;

/// The columns the stand-in reads; tags as `mgn:<resource>:tag:<key>`.
const COLUMNS: &[&str] = &[
    "mgn:wave:name",
    "mgn:wave:description",
    "mgn:app:name",
    "mgn:app:description",
    "mgn:server:user-provided-id",
];

impl Engine {
    /// StartImport: refused while another import runs (ConflictException); the same
    /// client token answers the import it started before.
    pub(crate) fn start_import(
        &mut self,
        (bucket, key, owner): (String, String, Option<String>),
        client_token: Option<String>,
        tags: BTreeMap<String, String>,
    ) -> Result<&ImportTask, MgnError> {
        if let Some(token) = &client_token {
            if let Some(i) = self
                .imports
                .iter()
                .position(|t| t.client_token.as_ref() == Some(token))
            {
                return Ok(&self.imports[i]);
            }
        }
        if let Some(running) = self
            .imports
            .iter()
            .find(|t| matches!(t.status, ImportStatus::Pending | ImportStatus::Started))
        {
            return Err(MgnError::conflict(
                &running.id,
                "IMPORT",
                format!("import {} is still running", running.id),
            ));
        }
        let id = self.new_id("import-");
        let task = ImportTask {
            arn: self.arn("import", &id),
            id,
            bucket,
            key,
            owner,
            client_token,
            created: self.now,
            ended: None,
            status: ImportStatus::Pending,
            servers: Counts::default(),
            applications: Counts::default(),
            waves: Counts::default(),
            tags,
            problems: Vec::new(),
        };
        let index = self.imports.len();
        self.imports.push(task);
        self.schedule_in(IMPORT_STEP_SECS, Action::ImportStarts { import: index });
        Ok(&self.imports[index])
    }

    /// Every import, oldest first.
    pub(crate) fn imports(&self) -> &[ImportTask] {
        &self.imports
    }

    pub(super) fn import_starts(&mut self, import: usize) {
        self.imports[import].status = ImportStatus::Started;
        self.schedule_in(IMPORT_STEP_SECS, Action::ImportRuns { import });
    }

    pub(super) fn import_runs(&mut self, import: usize) {
        let text = self.read_import_file(import);
        let now = self.now;
        match text {
            Ok(text) => {
                self.apply_import(import, &text);
                self.imports[import].status = ImportStatus::Succeeded;
            }
            Err(raw_error) => {
                let task = &mut self.imports[import];
                task.problems.push(ImportProblem {
                    at: now,
                    kind: ImportErrorType::ProcessingError,
                    row: None,
                    raw_error,
                });
                task.status = ImportStatus::Failed;
            }
        }
        self.imports[import].ended = Some(now);
    }

    fn read_import_file(&self, import: usize) -> Result<String, String> {
        let task = &self.imports[import];
        let location = format!("s3://{}/{}", task.bucket, task.key);
        if task.owner.as_ref().is_some_and(|o| *o != self.account) {
            return Err(format!(
                "access denied to {location}: the bucket's owner is not {}",
                self.account
            ));
        }
        let root: &PathBuf = self
            .s3_root
            .as_ref()
            .ok_or_else(|| format!("{location} cannot be read: no S3 here"))?;
        let path = root.join(&task.bucket).join(&task.key);
        std::fs::read_to_string(&path).map_err(|e| format!("{location} cannot be read: {e}"))
    }

    fn apply_import(&mut self, import: usize, text: &str) {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let rows = match crate::csv_records::records(text) {
            Ok(rows) => rows,
            Err(e) => return self.import_problem(import, None, e),
        };
        let Some((header, body)) = rows.split_first() else {
            return self.import_problem(import, Some(1), "the file has no header row".into());
        };
        let header: Vec<String> = header
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        for name in &header {
            let known = COLUMNS.contains(&name.as_str()) || tag_column(name).is_some();
            if !known {
                self.import_problem(
                    import,
                    Some(1),
                    format!("column {name:?} is not an import parameter the stand-in reads"),
                );
            }
        }
        for (k, fields) in body.iter().enumerate() {
            let row_number = k as u64 + 2;
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let row: BTreeMap<&str, &str> = header
                .iter()
                .map(String::as_str)
                .zip(fields.iter().map(|f| f.trim()))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            if let Err(problem) = self.import_row(import, &row) {
                self.import_problem(import, Some(row_number), problem);
            }
        }
    }

    fn import_problem(&mut self, import: usize, row: Option<u64>, raw_error: String) {
        let at = self.now;
        self.imports[import].problems.push(ImportProblem {
            at,
            kind: ImportErrorType::ValidationError,
            row,
            raw_error,
        });
    }

    /// One row: its wave, its application in that wave, its server in that application.
    fn import_row(&mut self, import: usize, row: &BTreeMap<&str, &str>) -> Result<(), String> {
        let wave = row.get("mgn:wave:name").copied();
        let app = row.get("mgn:app:name").copied();
        let server = row.get("mgn:server:user-provided-id").copied();
        if wave.is_none() && app.is_none() && server.is_none() {
            return Err("the row names no wave, application or server".into());
        }
        let wave_id = match wave {
            Some(name) => Some(self.import_grouping(import, GroupingKind::Wave, name, row)?),
            None => None,
        };
        let app_id = match app {
            Some(name) => {
                Some(self.import_grouping(import, GroupingKind::Application, name, row)?)
            }
            None => None,
        };
        if let (Some(app_id), Some(wave_id)) = (&app_id, &wave_id) {
            self.import_association(import, app_id, wave_id)?;
        }
        if let Some(user_id) = server {
            self.import_server(import, user_id, app_id.as_deref(), row)?;
        }
        Ok(())
    }

    /// The wave or application named `name`, created when there is none.
    fn import_grouping(
        &mut self,
        import: usize,
        kind: GroupingKind,
        name: &str,
        row: &BTreeMap<&str, &str>,
    ) -> Result<String, String> {
        let resource = match kind {
            GroupingKind::Wave => "wave",
            GroupingKind::Application => "app",
        };
        let description = row
            .get(format!("mgn:{resource}:description").as_str())
            .map(|d| (*d).to_owned());
        let tags = row_tags(row, resource);
        let existing = self
            .listed(kind)
            .find(|g| g.name.eq_ignore_ascii_case(name))
            .map(|g| g.id.clone());
        fn counts(task: &mut ImportTask, kind: GroupingKind) -> &mut Counts {
            match kind {
                GroupingKind::Wave => &mut task.waves,
                GroupingKind::Application => &mut task.applications,
            }
        }
        match existing {
            Some(id) => {
                if description.is_some() || !tags.is_empty() {
                    self.update_grouping(kind, &id, None, description)
                        .map_err(|e| e.message)?;
                    self.grouping_tags(kind, &id, tags);
                    counts(&mut self.imports[import], kind).modified += 1;
                }
                Ok(id)
            }
            None => {
                let id = self
                    .create_grouping(kind, name, description, tags)
                    .map_err(|e| e.message)?
                    .id
                    .clone();
                counts(&mut self.imports[import], kind).created += 1;
                Ok(id)
            }
        }
    }

    fn import_association(
        &mut self,
        import: usize,
        app_id: &str,
        wave_id: &str,
    ) -> Result<(), String> {
        let current = self
            .grouping(GroupingKind::Application, app_id)
            .map_err(|e| e.message)?
            .wave_id
            .clone();
        match current.as_deref() {
            Some(w) if w == wave_id => Ok(()),
            Some(other) => Err(format!(
                "application {app_id} already belongs to wave {other}"
            )),
            None => {
                self.associate_applications(wave_id, &[app_id.to_owned()], true)
                    .map_err(|e| e.message)?;
                self.imports[import].applications.modified += 1;
                Ok(())
            }
        }
    }

    /// The server with the user-provided id `user_id`: an added one, or one the scenario
    /// will install an agent on, or a new inventory entry.
    fn import_server(
        &mut self,
        import: usize,
        user_id: &str,
        app_id: Option<&str>,
        row: &BTreeMap<&str, &str>,
    ) -> Result<(), String> {
        let found = self
            .servers
            .iter()
            .position(|s| s.user_provided_id.as_deref() == Some(user_id));
        let index = match found {
            Some(index) if self.servers[index].added.is_some() => {
                self.imports[import].servers.modified += 1;
                index
            }
            Some(index) => {
                self.await_agent(index);
                self.imports[import].servers.created += 1;
                index
            }
            None => {
                let index = self.inventory_server(user_id);
                self.imports[import].servers.created += 1;
                index
            }
        };
        self.servers[index].tags.extend(row_tags(row, "server"));
        if let Some(app_id) = app_id {
            let current = self.servers[index].application_id.clone();
            match current.as_deref() {
                Some(a) if a == app_id => {}
                Some(other) => {
                    return Err(format!(
                        "server {user_id} already belongs to application {other}"
                    ))
                }
                None => {
                    let id = self.servers[index].id.clone();
                    self.associate_servers(app_id, &[id], true)
                        .map_err(|e| e.message)?;
                }
            }
        }
        Ok(())
    }

    /// A scenario server named by an import before its agent is installed: listed from
    /// now on, PENDING_INSTALLATION.
    fn await_agent(&mut self, index: usize) {
        let s = &mut self.servers[index];
        s.added = Some(self.now);
        s.life_cycle = LifeCycleState::PendingInstallation;
    }

    /// A server only the inventory knows (no VM of the estate has its id): it never
    /// replicates.
    fn inventory_server(&mut self, user_id: &str) -> usize {
        let id = self.new_id("s-");
        let arn = self.arn("source-server", &id);
        let spec = ServerSpec::named(user_id);
        let plan = MgnServerSpec {
            user_provided_id: Some(user_id.to_owned()),
            ..MgnServerSpec::default()
        };
        let uuid = String::new();
        let ordinal = self.servers.len();
        let mut server =
            SourceServer::from_scenario((id, arn), &spec, &plan, &self.settings, (uuid, ordinal));
        server.added = Some(self.now);
        server.life_cycle = LifeCycleState::PendingInstallation;
        self.server_by_id.insert(server.id.clone(), ordinal);
        self.servers.push(server);
        ordinal
    }
}

/// `mgn:<resource>:tag:<key>`'s key.
fn tag_column(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("mgn:")?;
    let (resource, key) = rest.split_once(":tag:")?;
    matches!(resource, "wave" | "app" | "server").then_some((resource, key))
}

/// The row's tags for `resource`.
fn row_tags(row: &BTreeMap<&str, &str>, resource: &str) -> BTreeMap<String, String> {
    row.iter()
        .filter_map(|(column, value)| {
            let (r, key) = tag_column(column)?;
            (r == resource).then(|| (key.to_owned(), (*value).to_owned()))
        })
        .collect()
}
