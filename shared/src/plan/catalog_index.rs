//! The server catalog indexed for resolving a plan: each selector field's values sorted
//! once, so a member finds its servers by binary search instead of a scan of the whole
//! catalog. Resolving a plan costs O((members + catalog) · log catalog) as long as each
//! selector's pattern starts with a literal (`vmPath:/dc1/web/*`); a pattern that opens
//! with a wildcard is checked against every value of its field, as it must be.

use std::cell::OnceCell;

use crate::model::{JobId, Server, ServerId, VmServer};
use crate::wave_policy::{glob_matches, Selector, VmField};

use super::rules::Member;
use super::Plan;

/// What resolving a plan reads of a catalog server: its id, its identification hints by
/// field, and the replication job it has (SMS).
pub trait CatalogServer {
    fn id(&self) -> &ServerId;
    /// The value of `field` (the server's id for [`VmField::ServerId`]).
    fn hint(&self, field: VmField) -> Option<&str>;
    /// The replication job that currently replicates it.
    fn live_job(&self) -> Option<&JobId>;
}

impl CatalogServer for Server {
    fn id(&self) -> &ServerId {
        &self.id
    }

    fn hint(&self, field: VmField) -> Option<&str> {
        field.value_of(self)
    }

    fn live_job(&self) -> Option<&JobId> {
        self.replication_job_id
            .as_ref()
            .filter(|_| self.has_live_job())
    }
}

/// A source server as resolving one plan needs it: its id and the hints the plan reads,
/// about 40 bytes and its strings where a whole [`Server`] takes 296.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HintedServer {
    pub id: ServerId,
    hints: Box<[(VmField, Box<str>)]>,
}

impl CatalogServer for HintedServer {
    fn id(&self) -> &ServerId {
        &self.id
    }

    fn hint(&self, field: VmField) -> Option<&str> {
        if field == VmField::ServerId {
            return Some(self.id.as_str());
        }
        self.hints
            .iter()
            .find(|(named, _)| *named == field)
            .map(|(_, value)| &**value)
    }

    fn live_job(&self) -> Option<&JobId> {
        None
    }
}

/// One catalog, sorted by each field a member names: a field's order is built the
/// first time a member needs it, so a plan of VM names alone pays for one (at 100,000
/// servers each is 2.4 MB, within the planner's 128 MB).
pub struct CatalogIndex<'a, S> {
    /// The catalog's servers in its order: a slice, or a listing kept in chunks.
    catalog: Vec<&'a S>,
    /// Per field of [`VmField::ALL`]: (value, index in the catalog), sorted.
    sorted: [OnceCell<Vec<(&'a str, usize)>>; VmField::ALL.len()],
}

impl<'a, S: CatalogServer> CatalogIndex<'a, S> {
    pub fn new(catalog: impl IntoIterator<Item = &'a S>) -> Self {
        Self {
            catalog: catalog.into_iter().collect(),
            sorted: Default::default(),
        }
    }

    fn sorted(&self, field: VmField) -> &[(&'a str, usize)] {
        self.sorted[field_slot(field)].get_or_init(|| {
            let mut values: Vec<(&str, usize)> = self
                .catalog
                .iter()
                .enumerate()
                .filter_map(|(index, server)| Some((server.hint(field)?, index)))
                .collect();
            values.sort_unstable();
            values
        })
    }

    /// The catalog servers `member` names, in catalog order.
    pub fn matching(&self, member: &Member) -> Vec<&'a S> {
        let mut indices = match member {
            Member::VmName(name) => {
                self.starting_with(VmField::VmName, name, |value| value == name)
            }
            Member::Selector(selector) => self.selected(selector),
        };
        indices.sort_unstable();
        indices.into_iter().map(|i| self.catalog[i]).collect()
    }

    fn selected(&self, selector: &Selector) -> Vec<usize> {
        let pattern = selector.pattern.as_str();
        self.starting_with(selector.field, selector.literal_prefix(), |value| {
            glob_matches(pattern, value)
        })
    }

    /// The indices of the servers whose `field` begins with `prefix` and passes `keep`.
    fn starting_with(
        &self,
        field: VmField,
        prefix: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<usize> {
        let values = self.sorted(field);
        let start = values.partition_point(|(value, _)| *value < prefix);
        values[start..]
            .iter()
            .take_while(|(value, _)| value.starts_with(prefix))
            .filter(|(value, _)| keep(value))
            .map(|(_, index)| *index)
            .collect()
    }
}

fn field_slot(field: VmField) -> usize {
    VmField::ALL
        .iter()
        .position(|known| *known == field)
        .expect("every field is in ALL")
}

/// The identification hints resolving one plan reads: the fields its selectors name,
/// the VM name (members and per-server settings name it) and the hostname (a shared
/// name's conflict is worded by it). At 100,000 MGN source servers the others'
/// strings would be most of the planner's memory.
pub struct NamedHints {
    named: [bool; VmField::ALL.len()],
}

impl NamedHints {
    pub fn of(plan: &Plan) -> Self {
        let mut named = [false; VmField::ALL.len()];
        for field in [VmField::VmName, VmField::Hostname] {
            named[field_slot(field)] = true;
        }
        let members = plan
            .applications
            .iter()
            .flat_map(|app| &app.groups)
            .flat_map(|group| &group.servers);
        for text in members {
            if let Ok(Member::Selector(selector)) = Member::parse(text) {
                named[field_slot(selector.field)] = true;
            }
        }
        Self { named }
    }

    /// The catalog entry of the server `id`: the hints of `vm` the plan reads.
    pub fn keep(&self, id: ServerId, vm: VmServer) -> HintedServer {
        let hints = [
            (VmField::VmName, vm.vm_name),
            (VmField::VmPath, vm.vm_path),
            (VmField::VmManagerName, vm.vm_manager_name),
            (VmField::Hostname, vm.hostname),
            (VmField::Fqdn, vm.fqdn),
            (VmField::VmwareUuid, vm.vmware_uuid),
            (VmField::UserProvidedId, vm.user_provided_id),
        ];
        let kept = hints
            .into_iter()
            .filter(|(field, _)| self.named[field_slot(*field)])
            .filter_map(|(field, value)| Some((field, value?.into_boxed_str())))
            .collect();
        HintedServer { id, hints: kept }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::server;

    fn catalog() -> Vec<Server> {
        let mut catalog = vec![
            server("s-3", "web-2", "/dc1/web/web-2"),
            server("s-1", "web-1", "/dc1/web/web-1"),
            server("s-2", "db-1", "/dc1/db/db-1"),
            server("s-4", "web-1", "/dc2/web/web-1"),
            server("s-5", "web-10", "/dc1/webfarm/web-10"),
        ];
        // MGN's hints: an FQDN on two servers.
        catalog[1].vm.fqdn = Some("web-1.corp".into());
        catalog[3].vm.fqdn = Some("web-1.dc2.corp".into());
        catalog
    }

    fn ids(index: &CatalogIndex<'_, Server>, member: &str) -> Vec<String> {
        let member = Member::parse(member).expect("a member");
        index
            .matching(&member)
            .into_iter()
            .map(|s| s.id.to_string())
            .collect()
    }

    #[test]
    fn members_find_the_same_servers_a_scan_would_in_catalog_order() {
        let catalog = catalog();
        let index = CatalogIndex::new(&catalog);
        assert_eq!(ids(&index, "web-1"), ["s-1", "s-4"]);
        assert_eq!(ids(&index, "web-10"), ["s-5"]);
        assert_eq!(ids(&index, "vmPath:/dc1/web/*"), ["s-3", "s-1"]);
        assert_eq!(ids(&index, "vmName:web-?"), ["s-3", "s-1", "s-4"]);
        assert_eq!(ids(&index, "vmName:*-1"), ["s-1", "s-2", "s-4"]);
        assert_eq!(ids(&index, "serverId:s-4"), ["s-4"]);
        assert_eq!(ids(&index, "serverId:s-*").len(), 5);
        assert!(ids(&index, "web-3").is_empty());
        assert_eq!(ids(&index, "fqdn:web-1.*"), ["s-1", "s-4"]);
        assert_eq!(ids(&index, "fqdn:*.dc2.corp"), ["s-4"]);
        for member in [
            "web-1",
            "vmPath:/dc1/*",
            "vmName:*1*",
            "serverId:s-?",
            "fqdn:web-*",
        ] {
            let parsed = Member::parse(member).expect("a member");
            let scanned: Vec<String> = catalog
                .iter()
                .filter(|s| match &parsed {
                    Member::VmName(name) => s.vm.vm_name.as_deref() == Some(name.as_str()),
                    Member::Selector(selector) => selector.matches(s),
                })
                .map(|s| s.id.to_string())
                .collect();
            assert_eq!(ids(&index, member), scanned, "{member}");
        }
    }
}
