//! Each application's move on MGN as the report words it, from the MGN launcher's
//! decisions: its status (the launcher's last word on it), why it is held (a hold lifted
//! since is no longer one), and when it was cut over. Read one decision at a time, so
//! the local wave can keep it up to date step by step and the wave-reporter can read its
//! whole trail.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Decision;

/// The MGN launcher's decisions about applications.
pub const LAUNCHER_DECISIONS: [&str; 7] = [
    "AppLaunchStarted",
    "AppLaunchPassed",
    "AppLaunchCheckFailed",
    "AppCutOver",
    "AppArchived",
    "AppMoveHeld",
    "AppMoveResumed",
];

/// What the launcher has said of each application, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moves {
    last_words: BTreeMap<String, String>,
    holds: BTreeMap<String, String>,
    cut_over_at: BTreeMap<String, String>,
}

impl Moves {
    /// The moves the decisions in `trail` tell.
    pub fn of(trail: &[Decision]) -> Self {
        let mut moves = Self::default();
        for decision in trail.iter().filter(|d| !d.dry_run()) {
            moves.note(&decision.time, &decision.detail_type, &decision.detail);
        }
        moves
    }

    /// Takes in one decision published at `time` (a dry run's is left out). Decisions
    /// may arrive out of order (EventBridge promises no order): once an application is
    /// cut over, only its archiving is a later word.
    pub fn note(&mut self, time: &str, detail_type: &str, detail: &Value) {
        if !LAUNCHER_DECISIONS.contains(&detail_type) || detail["dryRun"] == true {
            return;
        }
        let app = detail["appName"].as_str().unwrap_or_default().to_owned();
        let last = self.last_words.get(&app).map(String::as_str);
        let settled = matches!(last, Some("AppCutOver" | "AppArchived"));
        if settled && detail_type != "AppArchived" {
            if detail_type == "AppCutOver" {
                self.cut_over_at
                    .entry(app)
                    .or_insert_with(|| time.to_owned());
            }
            return;
        }
        match detail_type {
            "AppMoveHeld" => {
                let reason = detail["reason"].as_str().unwrap_or_default();
                self.holds.insert(app.clone(), reason.to_owned());
            }
            "AppMoveResumed" => drop(self.holds.remove(&app)),
            "AppCutOver" => {
                self.cut_over_at
                    .entry(app.clone())
                    .or_insert_with(|| time.to_owned());
            }
            _ => {}
        }
        self.last_words.insert(app, detail_type.to_owned());
    }

    /// The launcher's last word on `app`, if it said any.
    pub fn last_word(&self, app: &str) -> Option<&str> {
        self.last_words.get(app).map(String::as_str)
    }

    /// `app`'s move in the report's words.
    pub fn status(&self, app: &str) -> &'static str {
        match self.last_word(app) {
            Some("AppArchived") => "CUT OVER, ARCHIVED",
            Some("AppCutOver") => "CUT OVER",
            Some("AppMoveHeld") => "HELD",
            Some("AppLaunchPassed") => "TESTED",
            Some("AppLaunchStarted") => "LAUNCHING",
            Some("AppLaunchCheckFailed") => "LAUNCH FAILED",
            _ => "REPLICATING",
        }
    }

    /// Why `app` is held, while it is.
    pub fn held_by(&self, app: &str) -> Option<&String> {
        self.holds.get(app)
    }

    /// When `app` was first cut over.
    pub fn cut_over_at(&self, app: &str) -> Option<&String> {
        self.cut_over_at.get(app)
    }

    /// Whether `app` is cut over (archived or not).
    pub fn cut_over(&self, app: &str) -> bool {
        self.cut_over_at.contains_key(app)
    }

    /// When each application cut over so far was first cut over.
    pub fn cut_over_times(&self) -> BTreeMap<String, chrono::DateTime<chrono::Utc>> {
        self.cut_over_at
            .iter()
            .filter_map(|(app, time)| {
                let at = chrono::DateTime::parse_from_rfc3339(time).ok()?;
                Some((app.clone(), at.with_timezone(&chrono::Utc)))
            })
            .collect()
    }

    /// Applications cut over so far.
    pub fn cut_over_count(&self) -> usize {
        self.cut_over_at.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decision(time: &str, detail_type: &str, app: &str, reason: &str) -> Decision {
        Decision {
            id: String::new(),
            time: time.to_owned(),
            detail_type: detail_type.to_owned(),
            detail: json!({ "appName": app, "reason": reason, "dryRun": false }),
        }
    }

    #[test]
    fn the_last_word_holds_and_cutovers_are_read_in_order() {
        let trail = [
            decision(
                "t1",
                "AppMoveHeld",
                "intranet",
                "its launch settings cannot be used",
            ),
            decision(
                "t1",
                "AppMoveHeld",
                "reporting",
                "a person launches its test",
            ),
            decision("t2", "AppLaunchStarted", "shop", ""),
            decision(
                "t3",
                "AppMoveResumed",
                "intranet",
                "its launch settings cannot be used",
            ),
            decision("t4", "AppCutOver", "shop", ""),
            decision("t5", "AppArchived", "shop", ""),
            decision("t6", "AppPlanned", "shop", ""),
        ];
        let moves = Moves::of(&trail);
        assert_eq!(moves.status("shop"), "CUT OVER, ARCHIVED");
        assert_eq!(moves.cut_over_at("shop").map(String::as_str), Some("t4"));
        assert_eq!(moves.status("reporting"), "HELD");
        assert_eq!(moves.status("intranet"), "REPLICATING", "resumed, not held");
        assert_eq!(moves.held_by("intranet"), None);
        assert_eq!(
            moves.held_by("reporting").map(String::as_str),
            Some("a person launches its test")
        );
        assert_eq!(moves.status("office"), "REPLICATING");
        assert_eq!(moves.cut_over_count(), 1);
        let late = [
            decision("t1", "AppCutOver", "billing", ""),
            decision("t1", "AppLaunchPassed", "billing", ""),
        ];
        let moves = Moves::of(&late);
        assert_eq!(
            moves.status("billing"),
            "CUT OVER",
            "the cutover's own pass, delivered after it, is not a later word"
        );
        let mut dry = decision("t7", "AppCutOver", "office", "");
        dry.detail["dryRun"] = json!(true);
        let moves = Moves::of(&[dry]);
        assert!(
            !moves.cut_over("office"),
            "a dry run's decision is not a move"
        );
    }
}
