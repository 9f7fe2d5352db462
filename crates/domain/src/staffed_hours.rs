//! Staffed hours: when someone is at a site to take a finished print off its plate. The
//! dispatcher starts a job only if its estimate ends within them (or within the organization's
//! grace period after one ends), so that no plate waits uncleared overnight.
//!
//! A site's staffed hours are a list of periods, each on some days of the week from one local
//! time to another (`{"days": ["mon", "tue"], "from": "08:00", "to": "18:00"}`), in the site's
//! time zone (else the organization's). A period whose end is not after its start runs past
//! midnight into the next day (`"22:00"` to `"06:00"`). No periods: the site is always staffed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Invalid, Timestamp};

/// Most periods a site may list.
pub const MAX_STAFFED_PERIODS: usize = 28;

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// Days since Monday.
    fn index(self) -> u32 {
        self as u32
    }

    fn name(self) -> &'static str {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][self as usize]
    }

    fn from_jiff(day: jiff::civil::Weekday) -> Weekday {
        match day {
            jiff::civil::Weekday::Monday => Weekday::Mon,
            jiff::civil::Weekday::Tuesday => Weekday::Tue,
            jiff::civil::Weekday::Wednesday => Weekday::Wed,
            jiff::civil::Weekday::Thursday => Weekday::Thu,
            jiff::civil::Weekday::Friday => Weekday::Fri,
            jiff::civil::Weekday::Saturday => Weekday::Sat,
            jiff::civil::Weekday::Sunday => Weekday::Sun,
        }
    }
}

/// A local time of day, `HH:MM` (00:00 to 24:00), kept as minutes since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay(u32);

impl TimeOfDay {
    pub fn parse(raw: &str) -> Option<TimeOfDay> {
        let (hours, minutes) = raw.split_once(':')?;
        if hours.len() != 2 || minutes.len() != 2 {
            return None;
        }
        let (hours, minutes): (u32, u32) = (hours.parse().ok()?, minutes.parse().ok()?);
        let total = hours * 60 + minutes;
        (minutes < 60 && total <= MINUTES_PER_DAY).then_some(TimeOfDay(total))
    }

    pub fn minutes(self) -> u32 {
        self.0
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = String;
    fn try_from(raw: String) -> Result<TimeOfDay, String> {
        TimeOfDay::parse(&raw).ok_or_else(|| format!("{raw:?} is not a time of day like 08:30"))
    }
}

impl From<TimeOfDay> for String {
    fn from(time: TimeOfDay) -> String {
        time.to_string()
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// One staffed period on each of its days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffedPeriod {
    pub days: Vec<Weekday>,
    pub from: TimeOfDay,
    pub to: TimeOfDay,
}

/// A site's staffed hours; empty: always staffed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StaffedHours(Vec<StaffedPeriod>);

impl StaffedHours {
    /// Checks a list of periods as a client sent it.
    pub fn new(field: &'static str, periods: Vec<StaffedPeriod>) -> Result<StaffedHours, Invalid> {
        if periods.len() > MAX_STAFFED_PERIODS {
            return Err(Invalid::new(
                field,
                format!("at most {MAX_STAFFED_PERIODS} periods"),
            ));
        }
        if periods.iter().any(|p| p.days.is_empty()) {
            return Err(Invalid::new(field, "each period names at least one day"));
        }
        Ok(StaffedHours(periods))
    }

    pub fn periods(&self) -> &[StaffedPeriod] {
        &self.0
    }

    /// Whether the site is staffed at every hour.
    pub fn always(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a print ending at `end` ends while the site is staffed, or at most
    /// `grace_minutes` after a staffed period ends, in time zone `zone`.
    pub fn admits_end(&self, end: Timestamp, zone: &str, grace_minutes: u32) -> bool {
        if self.always() {
            return true;
        }
        let Some(local) = LocalTime::at(end, zone) else {
            return true;
        };
        let minute = local.minute_of_week();
        self.0.iter().any(|period| {
            period.days.iter().any(|day| {
                let start = day.index() * MINUTES_PER_DAY + period.from.minutes();
                let mut stop = day.index() * MINUTES_PER_DAY + period.to.minutes();
                if period.to <= period.from {
                    stop += MINUTES_PER_DAY;
                }
                let stop = stop + grace_minutes;
                // Sunday's late periods reach into the next Monday.
                (start..=stop).contains(&minute)
                    || (start..=stop).contains(&(minute + MINUTES_PER_WEEK))
            })
        })
    }
}

impl fmt::Display for StaffedHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.always() {
            return f.write_str("always");
        }
        let periods: Vec<String> = self
            .0
            .iter()
            .map(|p| {
                let days: Vec<&str> = p.days.iter().map(|d| d.name()).collect();
                format!("{} {}–{}", days.join(", "), p.from, p.to)
            })
            .collect();
        f.write_str(&periods.join("; "))
    }
}

/// A moment as a clock on the wall of a time zone shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub day: Weekday,
    pub time: TimeOfDay,
}

impl LocalTime {
    /// `None` when `zone` is not a time zone this machine knows.
    pub fn at(moment: Timestamp, zone: &str) -> Option<LocalTime> {
        let zone = jiff::tz::TimeZone::get(zone).ok()?;
        let zoned = jiff::Timestamp::from_microsecond(moment.micros())
            .ok()?
            .to_zoned(zone);
        let minutes =
            u32::try_from(i32::from(zoned.hour()) * 60 + i32::from(zoned.minute())).ok()?;
        Some(LocalTime {
            day: Weekday::from_jiff(zoned.weekday()),
            time: TimeOfDay(minutes),
        })
    }

    fn minute_of_week(self) -> u32 {
        self.day.index() * MINUTES_PER_DAY + self.time.minutes()
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.day.name(), self.time)
    }
}

/// Whether `zone` is a time zone this machine knows (its time zone database).
pub fn known_time_zone(zone: &str) -> bool {
    jiff::tz::TimeZone::get(zone).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weekdays(from: &str, to: &str) -> StaffedHours {
        use Weekday::*;
        let period = StaffedPeriod {
            days: vec![Mon, Tue, Wed, Thu, Fri],
            from: TimeOfDay::parse(from).unwrap(),
            to: TimeOfDay::parse(to).unwrap(),
        };
        StaffedHours::new("staffed_hours", vec![period]).unwrap()
    }

    fn at(rfc3339: &str) -> Timestamp {
        Timestamp::parse_rfc3339(rfc3339).unwrap()
    }

    #[test]
    fn ends_inside_after_or_within_grace() {
        let hours = weekdays("08:00", "18:00");
        let zone = "Europe/Amsterdam";
        // Friday 4 December 2026, 17:30 in Amsterdam (UTC+1).
        assert!(hours.admits_end(at("2026-12-04T16:30:00Z"), zone, 0));
        assert!(!hours.admits_end(at("2026-12-04T17:40:00Z"), zone, 0));
        assert!(hours.admits_end(at("2026-12-04T17:40:00Z"), zone, 45));
        // Saturday: nobody.
        assert!(!hours.admits_end(at("2026-12-05T10:00:00Z"), zone, 60));
        // Monday 08:00 local.
        assert!(hours.admits_end(at("2026-12-07T07:00:00Z"), zone, 0));
        assert!(StaffedHours::default().admits_end(at("2026-12-05T03:00:00Z"), zone, 0));
    }

    #[test]
    fn night_periods_run_past_midnight_and_past_sunday() {
        use Weekday::*;
        let night = StaffedPeriod {
            days: vec![Sun],
            from: TimeOfDay::parse("22:00").unwrap(),
            to: TimeOfDay::parse("06:00").unwrap(),
        };
        let hours = StaffedHours::new("staffed_hours", vec![night]).unwrap();
        // Monday 7 December 2026, 05:00 UTC.
        assert!(hours.admits_end(at("2026-12-07T05:00:00Z"), "UTC", 0));
        assert!(!hours.admits_end(at("2026-12-07T07:00:00Z"), "UTC", 0));
    }

    #[test]
    fn times_of_day_are_checked() {
        assert_eq!(TimeOfDay::parse("24:00").map(|t| t.minutes()), Some(1440));
        for bad in ["24:01", "8:00", "08:60", "0800", ""] {
            assert_eq!(TimeOfDay::parse(bad), None, "{bad}");
        }
        assert_eq!(
            weekdays("08:00", "18:00").to_string(),
            "Mon, Tue, Wed, Thu, Fri 08:00–18:00"
        );
    }
}
