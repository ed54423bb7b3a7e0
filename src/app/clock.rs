//! The system clock behind the `Clock` port.

use crate::domain::model::UnixTime;
use crate::domain::ports::Clock;

/// Wall-clock Unix seconds (0 if the clock is before 1970).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}
