//! Times as pages show them: relative ("3 min ago"), with the absolute time on hover and in
//! the `datetime` attribute, from which the page's script keeps the relative text current.

use jiff::Timestamp;

/// A moment, ready for the `moment` macro of `templates/macros.html`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    /// RFC 3339, for `<time datetime>`.
    pub iso: String,
    /// `2026-05-04 08:00:00 UTC`.
    pub absolute: String,
    /// `3 min ago`, `in 2 days`.
    pub relative: String,
}

impl Moment {
    pub fn of(at: Timestamp, now: Timestamp) -> Self {
        Self {
            iso: at.to_string(),
            absolute: at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
            relative: relative(at, now),
        }
    }

    pub fn now_relative(at: Timestamp) -> Self {
        Self::of(at, Timestamp::now())
    }
}

/// How far `at` is from `now`, in the largest unit that fits (the same steps as `app.js`).
pub fn relative(at: Timestamp, now: Timestamp) -> String {
    let seconds = now.as_second() - at.as_second();
    let ahead = seconds < 0;
    let distance = seconds.unsigned_abs();
    if distance < 45 {
        return "just now".to_string();
    }
    let (count, unit) = match distance {
        0..2_700 => (distance.div_ceil(60).max(1), "min"),
        2_700..79_200 => ((distance + 1_800) / 3_600, "h"),
        79_200..2_592_000 => ((distance + 43_200) / 86_400, "day"),
        2_592_000..31_536_000 => ((distance + 1_296_000) / 2_592_000, "month"),
        _ => ((distance + 15_768_000) / 31_536_000, "year"),
    };
    let plural = if count != 1 && matches!(unit, "day" | "month" | "year") {
        "s"
    } else {
        ""
    };
    if ahead {
        format!("in {count} {unit}{plural}")
    } else {
        format!("{count} {unit}{plural} ago")
    }
}

/// How long something took, from `from` to `to`: `45 s`, `3 min 5 s`, `2 h 4 min`.
pub fn duration(from: Timestamp, to: Timestamp) -> String {
    let seconds = (to.as_second() - from.as_second()).max(0);
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3_600 => match seconds % 60 {
            0 => format!("{} min", seconds / 60),
            rest => format!("{} min {rest} s", seconds / 60),
        },
        _ => match (seconds % 3_600) / 60 {
            0 => format!("{} h", seconds / 3_600),
            minutes => format!("{} h {minutes} min", seconds / 3_600),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ago(seconds: i64) -> String {
        let now: Timestamp = "2026-05-04T08:00:00Z".parse().unwrap();
        relative(
            now.checked_sub(jiff::SignedDuration::from_secs(seconds))
                .unwrap(),
            now,
        )
    }

    #[test]
    fn relative_times_take_the_largest_unit_that_fits() {
        assert_eq!(ago(10), "just now");
        assert_eq!(ago(-10), "just now");
        assert_eq!(ago(50), "1 min ago");
        assert_eq!(ago(3 * 60 + 5), "4 min ago");
        assert_eq!(ago(2 * 3_600), "2 h ago");
        assert_eq!(ago(26 * 3_600), "1 day ago");
        assert_eq!(ago(3 * 86_400), "3 days ago");
        assert_eq!(ago(-3 * 86_400), "in 3 days");
        assert_eq!(ago(65 * 86_400), "2 months ago");
        assert_eq!(ago(800 * 86_400), "2 years ago");
    }

    #[test]
    fn durations_say_minutes_and_seconds() {
        let start: Timestamp = "2026-05-04T08:00:00Z".parse().unwrap();
        let after = |seconds: i64| {
            duration(
                start,
                start
                    .checked_add(jiff::SignedDuration::from_secs(seconds))
                    .unwrap(),
            )
        };
        assert_eq!(after(0), "0 s");
        assert_eq!(after(45), "45 s");
        assert_eq!(after(60), "1 min");
        assert_eq!(after(185), "3 min 5 s");
        assert_eq!(after(7_440), "2 h 4 min");
        assert_eq!(after(3_600), "1 h");
        assert_eq!(
            after(-5),
            "0 s",
            "clocks that step back are no negative time"
        );
    }

    #[test]
    fn a_moment_keeps_the_absolute_time_for_hovering() {
        let at: Timestamp = "2026-05-04T08:00:00Z".parse().unwrap();
        let moment = Moment::of(at, at);
        assert_eq!(moment.absolute, "2026-05-04 08:00:00 UTC");
        assert_eq!(moment.iso, "2026-05-04T08:00:00Z");
        assert_eq!(moment.relative, "just now");
    }
}
