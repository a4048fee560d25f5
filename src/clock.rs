//! All time comes from here. Production reads the system clock; sandbox mode (and tests) may
//! set or advance it. Readings are truncated to microseconds, the precision PostgreSQL keeps,
//! so a value hashed before it is stored hashes the same after it is read back.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, DurationRound, NaiveDateTime, Utc};

#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Mutex<Mode>>,
    settable: bool,
    /// How many times the clock has been moved (see `moves`).
    moves: Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    System,
    /// System time shifted by an offset (a sandbox clock that keeps running).
    Shifted(Duration),
    /// A fixed instant (a sandbox clock stopped where a test put it).
    Frozen(DateTime<Utc>),
}

/// What the sandbox clock reads now.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ClockReading {
    pub now: DateTime<Utc>,
    pub frozen: bool,
}

impl Clock {
    pub fn system() -> Clock {
        Clock {
            inner: Arc::new(Mutex::new(Mode::System)),
            settable: false,
            moves: Arc::default(),
        }
    }

    /// A clock that `set` and `advance` may move (sandbox mode only).
    pub fn sandbox() -> Clock {
        Clock {
            inner: Arc::new(Mutex::new(Mode::System)),
            settable: true,
            moves: Arc::default(),
        }
    }

    pub fn is_settable(&self) -> bool {
        self.settable
    }

    pub fn now(&self) -> DateTime<Utc> {
        let mode = *self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let t = match mode {
            Mode::System => Utc::now(),
            Mode::Shifted(d) => Utc::now() + d,
            Mode::Frozen(t) => t,
        };
        truncate(t)
    }

    /// Wall time, whatever the sandbox clock reads: what session and token lifetimes count
    /// in. They protect a sign-in, not a business rule, so moving the sandbox clock a month
    /// on neither expires every token nor keeps a stolen one alive.
    pub fn wall(&self) -> DateTime<Utc> {
        truncate(Utc::now())
    }

    /// `wall` as a naive UTC timestamp.
    pub fn wall_naive(&self) -> NaiveDateTime {
        self.wall().naive_utc()
    }

    /// How many times the clock has been set or advanced: a job's tally of scheduled work
    /// starts again when this changes (see `jobs::Tally`).
    pub fn moves(&self) -> u64 {
        self.moves.load(std::sync::atomic::Ordering::Acquire)
    }

    fn moved(&self) {
        self.moves.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The reading as a naive UTC timestamp, the form the database stores.
    pub fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }

    pub fn reading(&self) -> ClockReading {
        let frozen = matches!(
            *self.inner.lock().unwrap_or_else(|p| p.into_inner()),
            Mode::Frozen(_)
        );
        ClockReading {
            now: self.now(),
            frozen,
        }
    }

    /// Sets the time; `frozen` stops it there, otherwise it keeps running from there.
    pub fn set(&self, now: DateTime<Utc>, frozen: bool) -> bool {
        if !self.settable {
            return false;
        }
        let mut mode = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *mode = if frozen {
            Mode::Frozen(truncate(now))
        } else {
            Mode::Shifted(now - Utc::now())
        };
        self.moved();
        true
    }

    /// Moves the time forward (or back, with a negative value).
    pub fn advance(&self, by: Duration) -> bool {
        if !self.settable {
            return false;
        }
        let mut mode = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *mode = match *mode {
            Mode::System => Mode::Shifted(by),
            Mode::Shifted(d) => Mode::Shifted(d + by),
            Mode::Frozen(t) => Mode::Frozen(t + by),
        };
        self.moved();
        true
    }
}

pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}

/// The calendar day in China Standard Time (UTC+8) of a UTC time: the day deadlines and due
/// days are counted in.
pub fn cst_date(t: NaiveDateTime) -> chrono::NaiveDate {
    (t + chrono::Duration::hours(8)).date()
}

/// The last instant of `date` in China Standard Time, as UTC: a due day ends at 24:00 UTC+8.
pub fn end_of_day_cst(date: chrono::NaiveDate) -> NaiveDateTime {
    let next = date.succ_opt().unwrap_or(date);
    next.and_hms_opt(0, 0, 0).expect("midnight exists")
        - chrono::Duration::hours(8)
        - chrono::Duration::microseconds(1)
}

/// A database timestamp as UTC.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_cannot_be_moved() {
        let c = Clock::system();
        assert!(!c.set(Utc::now(), true));
        assert!(!c.advance(Duration::seconds(5)));
    }

    #[test]
    fn frozen_sandbox_clock_stays_and_advances_exactly() {
        let c = Clock::sandbox();
        let t = "2026-03-01T08:00:00.123456789Z"
            .parse::<DateTime<Utc>>()
            .unwrap();
        assert!(c.set(t, true));
        assert_eq!(c.now().to_rfc3339(), "2026-03-01T08:00:00.123456+00:00");
        c.advance(Duration::seconds(90));
        assert_eq!(c.now().to_rfc3339(), "2026-03-01T08:01:30.123456+00:00");
    }
}
