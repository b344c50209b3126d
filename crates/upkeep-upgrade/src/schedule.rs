//! When the server runs the upgrade of a connected repository: a five-field cron expression
//! (`minute hour day-of-month month day-of-week`, default `0 8 * * MON`), evaluated in UTC or
//! in a time zone of the tz database ([`Schedule::next_after_in`]): `0 8 * * MON` in
//! `Europe/Berlin` is 08:00 Berlin time, summer and winter.
//!
//! Fields take `*`, numbers, names (`MON`–`SUN`, `JAN`–`DEC`), lists (`1,15`), ranges
//! (`MON-FRI`) and steps (`*/15`, `0-30/10`). As in cron, when both day fields are restricted a
//! day matches if either does.

use jiff::civil::DateTime;
use jiff::{Timestamp, ToSpan, tz::TimeZone};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    expression: String,
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    days_restricted: bool,
    weekdays_restricted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule `{expression}`: {reason}")]
pub struct ScheduleError {
    pub expression: String,
    pub reason: String,
}

const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

impl Schedule {
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let fail = |reason: String| ScheduleError {
            expression: expression.to_string(),
            reason,
        };
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields.as_slice() else {
            return Err(fail(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            )));
        };
        let mut weekdays = field(weekday, 0, 7, &WEEKDAYS, 0)
            .map_err(|reason| fail(format!("day of week: {reason}")))?;
        // 7 is Sunday too.
        if weekdays[7] {
            weekdays[0] = true;
        }
        weekdays.truncate(7);
        Ok(Self {
            expression: expression.to_string(),
            minutes: field(minute, 0, 59, &[], 0)
                .map_err(|reason| fail(format!("minute: {reason}")))?,
            hours: field(hour, 0, 23, &[], 0).map_err(|reason| fail(format!("hour: {reason}")))?,
            days: field(day, 1, 31, &[], 0)
                .map_err(|reason| fail(format!("day of month: {reason}")))?,
            months: field(month, 1, 12, &MONTHS, 1)
                .map_err(|reason| fail(format!("month: {reason}")))?,
            weekdays,
            days_restricted: *day != "*",
            weekdays_restricted: *weekday != "*",
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The first minute strictly after `after` that the schedule matches (UTC), within five years.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.next_after_in(after, &TimeZone::UTC)
    }

    /// The first minute strictly after `after` that the schedule matches on the clocks of
    /// `zone`, within five years. A time the clocks skip (spring forward) happens at the first
    /// time after the gap; a time they show twice (fall back) happens once, the first time.
    pub fn next_after_in(&self, after: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let start = after.to_zoned(zone.clone()).datetime();
        let mut time = DateTime::new(
            start.year(),
            start.month(),
            start.day(),
            start.hour(),
            start.minute(),
            0,
            0,
        )
        .ok()?
        .checked_add(1.minute())
        .ok()?;
        let limit = time.checked_add(5.years()).ok()?;
        while time < limit {
            if !self.months[usize::try_from(time.month()).ok()?] {
                time = DateTime::new(time.year(), time.month(), 1, 0, 0, 0, 0)
                    .ok()?
                    .checked_add(1.month())
                    .ok()?;
                continue;
            }
            if !self.day_matches(time) {
                time = DateTime::new(time.year(), time.month(), time.day(), 0, 0, 0, 0)
                    .ok()?
                    .checked_add(1.day())
                    .ok()?;
                continue;
            }
            if !self.hours[usize::try_from(time.hour()).ok()?] {
                time = DateTime::new(time.year(), time.month(), time.day(), time.hour(), 0, 0, 0)
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
                continue;
            }
            if !self.minutes[usize::try_from(time.minute()).ok()?] {
                time = time.checked_add(1.minute()).ok()?;
                continue;
            }
            let at = time.to_zoned(zone.clone()).ok()?.timestamp();
            // A wall-clock time shown again after the clocks went back is already past.
            if at > after {
                return Some(at);
            }
            time = time.checked_add(1.minute()).ok()?;
        }
        None
    }

    fn day_matches(&self, time: DateTime) -> bool {
        let day = self.days[usize::try_from(time.day()).unwrap_or(0)];
        let weekday =
            self.weekdays[usize::try_from(time.weekday().to_sunday_zero_offset()).unwrap_or(0)];
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || weekday,
            (true, false) => day,
            (false, true) => weekday,
            (false, false) => true,
        }
    }
}

/// One field as a table indexed by value (0..=max).
fn field(
    text: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<Vec<bool>, String> {
    let mut table = vec![false; max as usize + 1];
    let value = |text: &str| -> Result<u32, String> {
        if let Some(index) = names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
        {
            return Ok(u32::try_from(index).unwrap_or(0) + name_base);
        }
        let number: u32 = text
            .parse()
            .map_err(|_| format!("`{text}` is not a number"))?;
        if number < min || number > max {
            return Err(format!("{number} is outside {min}-{max}"));
        }
        Ok(number)
    };
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (
                range,
                step.parse::<u32>()
                    .ok()
                    .filter(|step| *step > 0)
                    .ok_or_else(|| format!("bad step `{step}`"))?,
            ),
            None => (part, 1),
        };
        let (first, last) = if range == "*" {
            (min, max)
        } else if let Some((first, last)) = range.split_once('-') {
            (value(first)?, value(last)?)
        } else {
            let single = value(range)?;
            (single, if step > 1 { max } else { single })
        };
        if first > last {
            return Err(format!("range `{range}` runs backwards"));
        }
        for number in (first..=last).step_by(step as usize) {
            table[number as usize] = true;
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(expression: &str, after: &str) -> String {
        Schedule::parse(expression)
            .unwrap()
            .next_after(after.parse().unwrap())
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_default_runs_on_monday_at_eight() {
        // 2026-11-22 is a Sunday.
        assert_eq!(
            next("0 8 * * MON", "2026-11-22T10:00:00Z"),
            "2026-11-23T08:00:00Z"
        );
        assert_eq!(
            next("0 8 * * MON", "2026-11-23T08:00:00Z"),
            "2026-11-30T08:00:00Z"
        );
        assert_eq!(
            next("0 8 * * 1", "2026-11-23T07:59:30Z"),
            "2026-11-23T08:00:00Z"
        );
    }

    #[test]
    fn lists_ranges_steps_and_day_fields() {
        assert_eq!(
            next("*/15 * * * *", "2026-11-22T10:07:00Z"),
            "2026-11-22T10:15:00Z"
        );
        assert_eq!(
            next("30 6 1,15 * *", "2026-11-22T10:00:00Z"),
            "2026-12-01T06:30:00Z"
        );
        assert_eq!(
            next("0 9 * * MON-FRI", "2026-11-21T10:00:00Z"),
            "2026-11-23T09:00:00Z"
        );
        // Either day field matches when both are restricted.
        assert_eq!(
            next("0 0 1 * SUN", "2026-11-22T10:00:00Z"),
            "2026-11-29T00:00:00Z"
        );
        assert_eq!(
            next("0 0 29 FEB *", "2026-03-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(
            next("0 12 * * 7", "2026-11-22T10:00:00Z"),
            "2026-11-22T12:00:00Z"
        );
    }

    fn next_in(expression: &str, zone: &str, after: &str) -> String {
        let zone = TimeZone::get(zone).unwrap();
        Schedule::parse(expression)
            .unwrap()
            .next_after_in(after.parse().unwrap(), &zone)
            .unwrap()
            .to_string()
    }

    #[test]
    fn time_zones_follow_their_clocks_through_daylight_saving() {
        // 08:00 in Berlin is 07:00 UTC in winter, 06:00 UTC in summer.
        assert_eq!(
            next_in("0 8 * * MON", "Europe/Berlin", "2026-11-22T10:00:00Z"),
            "2026-11-23T07:00:00Z"
        );
        assert_eq!(
            next_in("0 8 * * MON", "Europe/Berlin", "2026-06-01T06:30:00Z"),
            "2026-06-08T06:00:00Z"
        );
        // 2026-03-29 02:30 does not exist in Berlin: it happens at 03:30 CEST (01:30 UTC).
        assert_eq!(
            next_in("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z"),
            "2026-03-29T01:30:00Z"
        );
        // 2026-10-25 02:30 is shown twice; it happens once, the first time (00:30 UTC).
        assert_eq!(
            next_in("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z"),
            "2026-10-25T00:30:00Z"
        );
        assert_eq!(
            next_in("30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z"),
            "2026-10-26T01:30:00Z"
        );
        assert_eq!(
            next_in("0 8 * * MON", "UTC", "2026-11-22T10:00:00Z"),
            next("0 8 * * MON", "2026-11-22T10:00:00Z")
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            Schedule::parse("0 25 * * MON").unwrap_err().to_string(),
            "invalid schedule `0 25 * * MON`: hour: 25 is outside 0-23"
        );
        assert!(
            Schedule::parse("0 8 * *")
                .unwrap_err()
                .reason
                .contains("expected 5 fields")
        );
        assert!(
            Schedule::parse("0 8 * * FUNDAY")
                .unwrap_err()
                .reason
                .starts_with("day of week")
        );
    }
}
