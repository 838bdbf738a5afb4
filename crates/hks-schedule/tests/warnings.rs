//! The six warning codes the README lists (`frequent`, `rare`, `day_or`,
//! `short_months`, `uneven_step`, `dst`): each raised by a schedule chosen for
//! it, with a message that says what the author did not expect, and none
//! raised by schedules just on the safe side of each rule.

use hks_schedule::{Warning, check, preview};
use jiff::Timestamp;

const FROM: &str = "2025-01-01T00:00:00Z";

fn warnings(expr: &str, zone: &str) -> Vec<Warning> {
    check(expr, zone)
        .unwrap_or_else(|e| panic!("{expr} ({zone}) must be valid: {e:?}"))
        .warnings(FROM.parse::<Timestamp>().unwrap())
}

/// The warnings' codes, and the message of the one with `code`.
fn only(expr: &str, zone: &str, codes: &[&str], code: &str) -> String {
    let all = warnings(expr, zone);
    let got: Vec<&str> = all.iter().map(|w| w.code).collect();
    assert_eq!(got, codes, "{expr} ({zone}): {all:#?}");
    all.into_iter()
        .find(|w| w.code == code)
        .map(|w| w.message)
        .unwrap()
}

fn assert_says(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} is not in {message:?}");
    }
}

#[test]
fn frequent_names_the_shortest_interval() {
    let m = only("*/2 * * * *", "UTC", &["frequent"], "frequent");
    assert_says(
        &m,
        &["as often as every 2 minutes", "every 5 minutes or more"],
    );
    let m = only("* * * * *", "UTC", &["frequent"], "frequent");
    assert_says(&m, &["as often as every minute:"]);
    // Irregular gaps: the shortest one counts (minute 58 to 59).
    let m = only("0,58,59 * * * *", "UTC", &["frequent"], "frequent");
    assert_says(&m, &["every minute"]);
}

#[test]
fn rare_is_less_than_once_a_year() {
    // February 29 also does not occur in every February: both are true.
    let m = only("0 0 29 2 *", "UTC", &["rare", "short_months"], "rare");
    assert_says(&m, &["less than once a year"]);
}

#[test]
fn day_or_says_either_matches() {
    let m = only("0 0 1 * MON", "UTC", &["day_or"], "day_or");
    assert_says(&m, &["day-of-month and day-of-week", "EITHER"]);
}

#[test]
fn short_months_names_the_day_and_the_months() {
    let m = only("0 0 31 * *", "UTC", &["short_months"], "short_months");
    assert_says(
        &m,
        &[
            "Day 31 does not occur in every month",
            "February, April, June, September and November",
        ],
    );
    // Only the months the schedule names are listed.
    let m = only("0 0 30 1,2,3 *", "UTC", &["short_months"], "short_months");
    assert!(m.ends_with("there is no run on it in February"), "{m}");
}

#[test]
fn uneven_step_gives_the_real_interval() {
    let m = only("0 */5 * * *", "UTC", &["uneven_step"], "uneven_step");
    assert_says(
        &m,
        &[
            "A step of 5 does not divide 24",
            "the interval from 20 to 0 is 4, not 5",
        ],
    );
    let m = only("*/25 * * * *", "UTC", &["uneven_step"], "uneven_step");
    assert_says(
        &m,
        &[
            "A step of 25 does not divide 60",
            "from 50 to 0 is 10, not 25",
        ],
    );
}

#[test]
fn dst_names_the_zone_and_the_wall_times() {
    // Spring forward: 02:30 does not exist on 9 March 2025 in New York.
    let m = only("30 2 * * *", "America/New_York", &["dst"], "dst");
    assert_says(
        &m,
        &[
            "America/New_York",
            "skips 2025-03-09 02:30 (clocks jump forward)",
        ],
    );
    // Fall back: 01:30 happens twice on 2 November 2025.
    let m = only("30 1 * * *", "America/New_York", &["dst"], "dst");
    assert_says(&m, &["runs twice at 2025-11-02 01:30 (clocks go back)"]);
}

#[test]
fn schedules_on_the_safe_side_of_every_rule_raise_none() {
    for (expr, zone) in [
        ("0 9 * * MON-FRI", "Europe/Berlin"),
        // Exactly 5 minutes apart, a step that divides 60.
        ("*/5 * * * *", "UTC"),
        // A step that divides 24.
        ("0 */6 * * *", "UTC"),
        // Day 28 occurs in every month; yearly is not rare.
        ("0 0 28 * *", "UTC"),
        ("0 0 1 1 *", "UTC"),
        // A day of the month with `*` as day of week: no OR.
        ("0 0 1 * *", "UTC"),
        // The wall time of a DST change, but in zones without one.
        ("30 2 * * *", "UTC"),
        ("30 2 * * *", "Asia/Tokyo"),
        // In New York, but outside the changes' hours.
        ("30 4 * * *", "America/New_York"),
    ] {
        assert_eq!(warnings(expr, zone), [], "{expr} ({zone})");
    }
}

#[test]
fn the_preview_carries_the_warnings() {
    let p = preview("30 2 * * *", "America/New_York", FROM.parse().unwrap(), 1);
    let codes: Vec<&str> = p.warnings.iter().map(|w| w.code).collect();
    assert_eq!(codes, ["dst"]);
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["warnings"][0]["code"], "dst");
    assert!(json["warnings"][0]["message"].is_string());
}
