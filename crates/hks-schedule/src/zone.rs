//! Time zones, loaded and read the way Go's `time` package does.
//!
//! The CronJob controller evaluates schedules with Go's `time` package, so the
//! fire times depend on two of its behaviours that other libraries do not share:
//! how `time.LoadLocation` finds a zone (a case-sensitive file name in the
//! system's zoneinfo directory), and how `time.Date` resolves a wall-clock time
//! that does not exist or exists twice (it looks up the offset at the wall time
//! read as UTC, then corrects once). [`Zone`] reproduces both on top of `jiff`'s
//! TZif reader.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Where Go (and kube-apiserver) look for zone files on Linux, in order.
const ZONEINFO_DIRS: &[&str] = &[
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/etc/zoneinfo",
];

/// Why a time zone name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("the time zone is empty: use an IANA name such as Europe/Berlin, or UTC")]
    Empty,
    #[error(
        "\"{part}\" is not a valid part of a time zone name: each part between slashes has 1 to 14 \
         of the characters A-Z a-z 0-9 . - _ +, does not start with '-' and is not '.' or '..'"
    )]
    Syntax { part: String },
    #[error(
        "\"Local\" means the cluster's own zone, which differs between clusters: name the zone, e.g. Europe/Berlin or UTC"
    )]
    Local,
    #[error("unknown time zone {name}: names are case-sensitive, did you mean {suggestion}?")]
    WrongCase { name: String, suggestion: String },
    #[error(
        "unknown time zone {name}: use an IANA name such as America/New_York, Europe/Berlin or UTC"
    )]
    Unknown { name: String },
}

/// A loaded IANA time zone, with Go's rules for resolving wall-clock times.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// Loads a zone as kube-apiserver validates `spec.timeZone` and as Go's
    /// `time.LoadLocation` reads it.
    pub fn load(name: &str) -> Result<Zone, ZoneError> {
        validate_name(name)?;
        // Zones are few and immutable: keep the ones loaded (only valid names get here).
        static LOADED: OnceLock<Mutex<HashMap<String, Zone>>> = OnceLock::new();
        let loaded = LOADED.get_or_init(Default::default);
        if let Some(zone) = loaded.lock().ok().and_then(|m| m.get(name).cloned()) {
            return Ok(zone);
        }
        let zone = Zone::read(name)?;
        if let Ok(mut m) = loaded.lock() {
            m.insert(name.to_owned(), zone.clone());
        }
        Ok(zone)
    }

    fn read(name: &str) -> Result<Zone, ZoneError> {
        if name == "UTC" {
            return Ok(Zone {
                name: name.to_owned(),
                tz: TimeZone::UTC,
            });
        }
        for dir in ZONEINFO_DIRS {
            let path = std::path::Path::new(dir).join(name);
            // A directory (such as "America") or an unreadable file is not a zone.
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            return match TimeZone::tzif(name, &bytes) {
                Ok(tz) => Ok(Zone {
                    name: name.to_owned(),
                    tz,
                }),
                Err(_) => Err(ZoneError::Unknown {
                    name: name.to_owned(),
                }),
            };
        }
        // Not found with this exact spelling; jiff's database matches names
        // case-insensitively, which makes a useful suggestion.
        match TimeZone::get(name)
            .ok()
            .and_then(|tz| tz.iana_name().map(str::to_owned))
        {
            Some(suggestion) if suggestion != name => Err(ZoneError::WrongCase {
                name: name.to_owned(),
                suggestion,
            }),
            _ => Err(ZoneError::Unknown {
                name: name.to_owned(),
            }),
        }
    }

    /// The zone as named by the user.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The underlying `jiff` zone.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// A reader of this zone with a small cache, for the many lookups of one
    /// computation.
    pub(crate) fn cursor(&self) -> Cursor<'_> {
        Cursor {
            tz: &self.tz,
            cache: Cell::new((1, 0, 0)),
        }
    }
}

/// kube-apiserver's syntax rules for `spec.timeZone` (pkg/apis/batch/validation).
fn validate_name(name: &str) -> Result<(), ZoneError> {
    if name.is_empty() {
        return Err(ZoneError::Empty);
    }
    for part in name.split('/') {
        let ok_chars = (1..=14).contains(&part.len())
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
        if !ok_chars || part == "." || part == ".." || part.starts_with('-') {
            return Err(ZoneError::Syntax {
                part: part.to_owned(),
            });
        }
    }
    if name.eq_ignore_ascii_case("Local") {
        return Err(ZoneError::Local);
    }
    Ok(())
}

/// Local calendar fields of an instant, as Go's `Time` accessors give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fields {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Sunday is 0.
    pub weekday: u32,
}

/// Offset lookups for one zone with a cache of the period last looked up.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    tz: &'a TimeZone,
    /// `[start, end)` in Unix seconds and the offset in force there; empty at first.
    cache: Cell<(i64, i64, i32)>,
}

impl Cursor<'_> {
    /// The UTC offset in seconds at an instant.
    pub fn offset(&self, unix: i64) -> i32 {
        let (start, end, offset) = self.cache.get();
        if start <= unix && unix < end {
            return offset;
        }
        let Ok(ts) = Timestamp::from_second(unix) else {
            return self.tz.to_offset(Timestamp::UNIX_EPOCH).seconds();
        };
        let offset = self.tz.to_offset(ts).seconds();
        let start = Timestamp::from_second(unix.saturating_add(1))
            .ok()
            .and_then(|next| self.tz.preceding(next).next())
            .map_or(i64::MIN, |t| t.timestamp().as_second());
        let end = self
            .tz
            .following(ts)
            .next()
            .map_or(i64::MAX, |t| t.timestamp().as_second());
        self.cache.set((start, end, offset));
        offset
    }

    /// Go's `t.Year()`, `t.Month()`, ... for the instant `unix` in this zone.
    pub fn fields(&self, unix: i64) -> Fields {
        let local = unix + i64::from(self.offset(unix));
        fields_of_local(local)
    }

    /// Go's `time.Date(year, month, day, hour, min, sec, 0, loc)`, including its
    /// normalisation of out-of-range values and its resolution of wall times in
    /// a gap or an overlap.
    pub fn date(&self, year: i64, month: i64, day: i64, hour: i64, min: i64, sec: i64) -> i64 {
        let m0 = month - 1;
        let year = year + m0.div_euclid(12);
        let month = m0.rem_euclid(12) + 1;
        let local = days_from_civil(year, month, 1) * 86_400
            + (day - 1) * 86_400
            + hour * 3_600
            + min * 60
            + sec;
        // Go looks up the offset at the wall time read as UTC; if the instant
        // that gives is outside that offset's period it takes the offset at that
        // instant instead. Both steps are equivalent to this expression.
        let first = i64::from(self.offset(local));
        local - i64::from(self.offset(local - first))
    }
}

/// Calendar fields of a count of seconds since 1970-01-01T00:00 (local).
pub(crate) fn fields_of_local(local: i64) -> Fields {
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Fields {
        year,
        month,
        day,
        hour: (secs / 3_600) as u32,
        minute: (secs % 3_600 / 60) as u32,
        second: (secs % 60) as u32,
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a count of days since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days in a month of the proleptic Gregorian calendar.
pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        assert_eq!(fields_of_local(0).weekday, 4, "1970-01-01 was a Thursday");
    }

    #[test]
    fn names_follow_kube_apiserver() {
        assert!(Zone::load("Europe/Berlin").is_ok());
        assert!(Zone::load("UTC").is_ok());
        assert!(Zone::load("America/Argentina/Buenos_Aires").is_ok());
        assert_eq!(Zone::load("").unwrap_err(), ZoneError::Empty);
        assert_eq!(Zone::load("Local").unwrap_err(), ZoneError::Local);
        assert!(matches!(
            Zone::load("../etc/passwd"),
            Err(ZoneError::Syntax { .. })
        ));
        assert!(matches!(
            Zone::load("America/Los_Angeles_Too_Long"),
            Err(ZoneError::Syntax { .. })
        ));
        assert!(matches!(Zone::load("-UTC"), Err(ZoneError::Syntax { .. })));
        assert!(matches!(
            Zone::load("Mars/Olympus"),
            Err(ZoneError::Unknown { .. })
        ));
        assert!(matches!(
            Zone::load("America"),
            Err(ZoneError::Unknown { .. })
        ));
        let err = Zone::load("europe/berlin").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown time zone europe/berlin: names are case-sensitive, did you mean Europe/Berlin?"
        );
    }

    #[test]
    fn go_date_resolves_gaps_and_overlaps_like_go() {
        let zone = Zone::load("America/New_York").unwrap();
        let c = zone.cursor();
        // 2025-03-09 02:30 does not exist; Go gives 01:30 EST (06:30Z).
        assert_eq!(c.date(2025, 3, 9, 2, 30, 0), 1_741_501_800);
        // 2025-11-02 01:30 exists twice; Go gives the first, EDT (05:30Z).
        assert_eq!(c.date(2025, 11, 2, 1, 30, 0), 1_762_061_400);
        // Month and day overflow normalise as in Go: 2025-02-31 is 2025-03-03.
        assert_eq!(c.date(2025, 2, 31, 12, 0, 0), c.date(2025, 3, 3, 12, 0, 0));
    }
}
