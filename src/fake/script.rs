//! Presence that changes on a schedule. A script is a list of steps timed from the moment it is
//! set; a read answers the step in force at the time of the read, worked out then from the
//! clock (tokio's, so tests can pause and advance it): no task runs in the background.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// One step of a script, as given.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptStep {
    /// When the step starts, counted from the moment the script is set.
    pub after: Duration,
    /// Served raw, like `FakeServer::set_presence`'s word.
    pub presence: String,
    /// `None` on a step to offline from a present state (online, typing, recording, paused)
    /// means "the moment of this step"; otherwise served as given.
    pub last_seen: Option<serde_json::Number>,
}

/// Why a script was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptError {
    /// Step `index` starts before the step ahead of it.
    OutOfOrder { index: usize },
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptError::OutOfOrder { index } => {
                write!(f, "step {index} starts before the step ahead of it: steps must be in time order")
            }
        }
    }
}

impl std::error::Error for ScriptError {}

/// A step with its `last_seen` settled.
#[derive(Debug)]
pub(super) struct Step {
    pub(super) after: Duration,
    pub(super) presence: String,
    pub(super) last_seen: Option<serde_json::Number>,
}

/// A script being played: its steps and the instant they count from.
#[derive(Debug)]
pub(super) struct Script {
    start: Instant,
    steps: Vec<Step>,
}

impl Script {
    /// Settles each step's `last_seen`: a step to offline without one, from a present state
    /// (`before` for the first step), gets the wall-clock second of that step, as a real server
    /// reports "last seen when they went offline". `wall` is the wall clock at `start`.
    pub(super) fn new(
        steps: Vec<ScriptStep>,
        before: Option<&str>,
        start: Instant,
        wall: SystemTime,
    ) -> Result<Script, ScriptError> {
        if let Some(index) = steps.windows(2).position(|pair| matches!(pair, [a, b] if b.after < a.after)) {
            return Err(ScriptError::OutOfOrder { index: index + 1 });
        }
        let mut previous = before.map(str::to_owned);
        let steps = steps
            .into_iter()
            .map(|step| {
                let went_offline = previous.as_deref().is_some_and(is_present) && is_offline(&step.presence);
                let last_seen = match step.last_seen {
                    None if went_offline => wall.checked_add(step.after).map(|at| unix_seconds(at).into()),
                    given => given,
                };
                previous = Some(step.presence.clone());
                Step { after: step.after, presence: step.presence, last_seen }
            })
            .collect();
        Ok(Script { start, steps })
    }

    /// The step in force at `now`: the last one started; `None` before the first.
    pub(super) fn current(&self, now: Instant) -> Option<&Step> {
        let elapsed = now.saturating_duration_since(self.start);
        let started = self.steps.partition_point(|step| step.after <= elapsed);
        started.checked_sub(1).and_then(|last| self.steps.get(last))
    }
}

/// Present in WhatsApp's sense: online by any engine's word, or typing, recording or paused
/// in a chat (which only an online contact does).
fn is_present(word: &str) -> bool {
    ["online", "available", "typing", "composing", "recording", "paused"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(word.trim()))
}

fn is_offline(word: &str) -> bool {
    ["offline", "unavailable"].iter().any(|w| w.eq_ignore_ascii_case(word.trim()))
}

/// Whole seconds since the Unix epoch (0 for a clock set before it).
fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
