//! The English words descriptions and messages are made of: month and day
//! names, and lists joined with "and" or "or". Used by the parser's messages
//! and by the descriptions, so neither imports the other.

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(crate) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

pub(crate) fn month_name(m: u32) -> &'static str {
    MONTHS[(m as usize).saturating_sub(1).min(11)]
}

/// "a", "a and b", "a, b and c".
pub(crate) fn join_and(items: &[String]) -> String {
    join(items, "and")
}

/// "a", "a or b", "a, b or c".
pub(crate) fn join_or(items: &[String]) -> String {
    join(items, "or")
}

fn join(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}
