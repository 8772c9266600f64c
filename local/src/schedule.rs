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

    /// Moves a state's clock to `target`, running every entry due on the way with
    /// `handle`, in order (an entry `handle` pushes is taken in the same pass when it is
    /// due); the clock stands at each entry's time as it runs and never goes back.
    /// `schedule` and `clock` find the schedule and the clock inside the state.
    pub fn advance<S>(
        state: &mut S,
        schedule: impl Fn(&mut S) -> &mut Self,
        clock: impl Fn(&mut S) -> &mut Millis,
        target: Millis,
        mut handle: impl FnMut(&mut S, A),
    ) {
        let mut steps = 0usize;
        while steps < MAX_STEPS_PER_ADVANCE {
            let queue = &mut schedule(state).queue;
            if queue.peek().is_none_or(|Reverse(next)| next.at > target) {
                break;
            }
            let Some(Reverse(entry)) = queue.pop() else {
                break;
            };
            steps += 1;
            let now = clock(state);
            *now = (*now).max(entry.at);
            handle(state, entry.action);
        }
        if steps >= MAX_STEPS_PER_ADVANCE {
            tracing::warn!(steps, "advance stopped early: too many scheduled steps");
        }
        let now = clock(state);
        *now = (*now).max(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct World {
        now: Millis,
        schedule: Schedule<&'static str>,
        log: Vec<(Millis, &'static str)>,
    }

    fn advance(world: &mut World, target: Millis) {
        Schedule::advance(
            world,
            |w| &mut w.schedule,
            |w| &mut w.now,
            target,
            |w, action| {
                w.log.push((w.now, action));
                if action == "a" {
                    w.schedule.push(w.now, 15, "pushed while running");
                }
            },
        );
    }

    #[test]
    fn due_entries_run_in_time_then_insertion_order_with_the_clock_at_theirs() {
        let mut world = World {
            now: 0,
            schedule: Schedule::default(),
            log: Vec::new(),
        };
        world.schedule.push(0, 20, "b");
        world.schedule.push(0, 10, "a");
        world.schedule.push(0, 20, "c");
        world.schedule.push(0, 99, "late");
        advance(&mut world, 20);
        assert_eq!(world.log.len(), 4);
        assert_eq!(
            world.log,
            vec![
                (10, "a"),
                (15, "pushed while running"),
                (20, "b"),
                (20, "c")
            ]
        );
        assert_eq!(world.now, 20);
        world.schedule.push(50, 5, "past");
        advance(&mut world, 60);
        assert_eq!(world.log.len(), 5);
        assert_eq!(world.log.last(), Some(&(50, "past")), "never before now");
        assert_eq!(world.now, 60);
        assert_eq!(world.schedule.pushed(), 6);
    }
}
