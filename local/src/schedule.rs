//! The simulated clock's to-do list, for both stand-ins: work due at a simulated time,
//! taken in (time, insertion) order so the same calls and the same advances always
//! replay the same way.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Milliseconds since the Unix epoch on the simulated clock.
pub type Millis = i64;

/// Simulated milliseconds as RFC 3339 / ISO 8601 (UTC, whole seconds): how both
/// services write their date-times.
pub fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The same with milliseconds, as EC2 writes them.
pub fn rfc3339_millis(ms: Millis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Scenario seconds as simulated milliseconds (saturating: a huge setting means "never").
pub fn secs(s: u64) -> Millis {
    Millis::try_from(s.saturating_mul(1000)).unwrap_or(Millis::MAX / 4)
}

/// A runaway schedule must not hang an advance; no real scenario gets near this.
const MAX_STEPS_PER_ADVANCE: usize = 50_000_000;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry<A> {
    at: Millis,
    seq: u64,
    action: A,
}

/// Pending work of type `A`, each entry due at a simulated time.
#[derive(Debug)]
pub struct Schedule<A> {
    queue: BinaryHeap<Reverse<Entry<A>>>,
    seq: u64,
}

impl<A: Ord> Default for Schedule<A> {
    fn default() -> Self {
        Self {
            queue: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<A: Ord> Schedule<A> {
    /// Adds `action`, due at `at` (never before `now`).
    pub fn push(&mut self, now: Millis, at: Millis, action: A) {
        self.seq += 1;
        self.queue.push(Reverse(Entry {
            at: at.max(now),
            seq: self.seq,
            action,
        }));
    }

    /// How many entries were ever pushed (a counter that only grows).
    pub fn pushed(&self) -> u64 {
        self.seq
    }

    /// Runs every entry due up to `target` with `run(at, action)`, in order (an entry
    /// `run` pushes is taken in the same pass when it is due), and returns how many ran.
    /// `run` is handed the state `S` the entries act on, so the caller can own both.
    pub fn run_due<S>(
        state: &mut S,
        schedule: impl Fn(&mut S) -> &mut Self,
        target: Millis,
        mut run: impl FnMut(&mut S, Millis, A),
    ) -> usize {
        let mut steps = 0usize;
        while steps < MAX_STEPS_PER_ADVANCE {
            let queue = &mut schedule(state).queue;
            if queue.peek().is_none_or(|Reverse(next)| next.at > target) {
                return steps;
            }
            let Some(Reverse(entry)) = queue.pop() else {
                return steps;
            };
            steps += 1;
            run(state, entry.at, entry.action);
        }
        tracing::warn!(steps, "advance stopped early: too many scheduled steps");
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct World {
        schedule: Schedule<&'static str>,
        log: Vec<(Millis, &'static str)>,
    }

    #[test]
    fn due_entries_run_in_time_then_insertion_order() {
        let mut world = World {
            schedule: Schedule::default(),
            log: Vec::new(),
        };
        world.schedule.push(0, 20, "b");
        world.schedule.push(0, 10, "a");
        world.schedule.push(0, 20, "c");
        world.schedule.push(0, 99, "late");
        let ran = Schedule::run_due(
            &mut world,
            |w| &mut w.schedule,
            20,
            |w, at, action| {
                w.log.push((at, action));
                if action == "a" {
                    w.schedule.push(at, 15, "pushed while running");
                }
            },
        );
        assert_eq!(ran, 4);
        assert_eq!(
            world.log,
            vec![
                (10, "a"),
                (15, "pushed while running"),
                (20, "b"),
                (20, "c")
            ]
        );
        world.schedule.push(50, 5, "past");
        let ran = Schedule::run_due(
            &mut world,
            |w| &mut w.schedule,
            60,
            |w, at, action| w.log.push((at, action)),
        );
        assert_eq!((ran, world.log.last()), (1, Some(&(50, "past"))));
        assert_eq!(world.schedule.pushed(), 6);
    }
}
