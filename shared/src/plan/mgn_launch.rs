//! The part of a server's launch settings MGN keeps in its launch configuration —
//! right-sizing, licensing, boot mode, the private IP and tags copied — as the plan
//! wants it, what must change from what MGN holds, and the digest the planner keeps so
//! that settings already put are not read again until the plan changes them.

use serde::Serialize;

use super::{BootMode, LaunchSettings, RightSizing};

/// MGN's launch configuration fields, each set or left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MgnLaunch {
    pub right_sizing: Option<RightSizing>,
    pub byol: Option<bool>,
    pub boot_mode: Option<BootMode>,
    pub copy_private_ip: Option<bool>,
    pub copy_tags: Option<bool>,
}

impl MgnLaunch {
    /// What `settings` ask of MGN's launch configuration; none when they ask nothing.
    pub fn wanted(settings: &LaunchSettings) -> Option<Self> {
        let wanted = Self {
            right_sizing: settings.right_sizing,
            byol: settings.byol,
            boot_mode: settings.boot_mode,
            copy_private_ip: settings.copy_private_ip,
            copy_tags: settings.copy_tags,
        };
        (wanted != Self::default()).then_some(wanted)
    }

    /// A stable digest of what is wanted, for the planner's books.
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        crate::digest::hex(text.as_bytes())
    }

    /// The wanted fields `held` does not give; none when it gives them all.
    pub fn change_from(&self, held: &MgnLaunch) -> Option<MgnLaunch> {
        fn differs<T: PartialEq + Copy>(wanted: Option<T>, held: Option<T>) -> Option<T> {
            wanted.filter(|w| held != Some(*w))
        }
        let change = Self {
            right_sizing: differs(self.right_sizing, held.right_sizing),
            byol: differs(self.byol, held.byol),
            boot_mode: differs(self.boot_mode, held.boot_mode),
            copy_private_ip: differs(self.copy_private_ip, held.copy_private_ip),
            copy_tags: differs(self.copy_tags, held.copy_tags),
        };
        (change != Self::default()).then_some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_plan_sets_and_mgn_lacks_is_changed() {
        assert_eq!(MgnLaunch::wanted(&LaunchSettings::default()), None);
        let settings = LaunchSettings {
            right_sizing: Some(RightSizing::Basic),
            copy_private_ip: Some(true),
            instance_type: Some("m5.large".into()),
            ..LaunchSettings::default()
        };
        let wanted = MgnLaunch::wanted(&settings).expect("asks something");
        let held = MgnLaunch {
            right_sizing: Some(RightSizing::Basic),
            byol: Some(false),
            boot_mode: Some(BootMode::UseSource),
            copy_private_ip: Some(false),
            copy_tags: Some(true),
        };
        let change = wanted.change_from(&held).expect("the private IP differs");
        assert_eq!(
            change,
            MgnLaunch {
                copy_private_ip: Some(true),
                ..MgnLaunch::default()
            }
        );
        let settled = MgnLaunch {
            copy_private_ip: Some(true),
            ..held
        };
        assert_eq!(wanted.change_from(&settled), None);
        assert_eq!(
            wanted.digest(),
            MgnLaunch::wanted(&settings).unwrap().digest()
        );
        assert_ne!(wanted.digest(), settled.digest());
    }
}
