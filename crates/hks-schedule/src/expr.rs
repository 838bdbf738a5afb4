//! Parsing cron expressions exactly as robfig/cron v3 `ParseStandard` does.
//!
//! kube-apiserver validates `spec.schedule` with `cron.ParseStandard`, so this
//! module accepts and rejects the same strings, field for field. A few strings
//! that robfig accepts are surprising enough that HKS refuses them with a
//! reason (see [`Quirk`]); the differential test against the real robfig lists
//! them. Each field becomes a bit set as in robfig, with the top bit recording a
//! `*` or `?`, which decides whether day-of-month and day-of-week are ANDed.

use std::fmt;

/// The top bit of a field's bit set: the field was `*` or `?` (without a step > 1).
pub const STAR: u64 = 1 << 63;

/// One of the five fields of a Kubernetes cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CronField {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl CronField {
    pub(crate) const ALL: [CronField; 5] = [
        CronField::Minute,
        CronField::Hour,
        CronField::DayOfMonth,
        CronField::Month,
        CronField::DayOfWeek,
    ];

    /// The smallest and largest value of the field.
    pub fn bounds(self) -> (u32, u32) {
        match self {
            CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 6),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            CronField::Month => &MONTH_NAMES,
            CronField::DayOfWeek => &DAY_NAMES,
            _ => &[],
        }
    }

    fn value_of_name(self, token: &str) -> Option<u64> {
        let lower = go_to_lower(token);
        let names = self.names();
        let first = self.bounds().0 as usize;
        names
            .iter()
            .position(|n| *n == lower)
            .map(|i| (i + first) as u64)
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        })
    }
}

const MONTH_NAMES: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Go's `strings.ToLower`: the simple (one-to-one) lower-case mapping, which
/// differs from Rust's full mapping only for U+0130 (capital I with dot above).
fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\u{130}' {
                'i'
            } else {
                c.to_lowercase().next().unwrap_or(c)
            }
        })
        .collect()
}

/// The descriptors robfig accepts, with the fields they stand for.
const DESCRIPTORS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// A parsed schedule: one bit set per field, as robfig's `SpecSchedule` (whose
/// seconds field is always 0 for `ParseStandard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Spec {
    pub minute: u64,
    pub hour: u64,
    pub dom: u64,
    pub month: u64,
    pub dow: u64,
}

impl Spec {
    /// The bit set of one field.
    pub fn bits(&self, field: CronField) -> u64 {
        match field {
            CronField::Minute => self.minute,
            CronField::Hour => self.hour,
            CronField::DayOfMonth => self.dom,
            CronField::Month => self.month,
            CronField::DayOfWeek => self.dow,
        }
    }

    /// Whether day-of-month and day-of-week are ANDed (either was a star) rather
    /// than ORed.
    pub fn days_anded(&self) -> bool {
        self.dom & STAR != 0 || self.dow & STAR != 0
    }
}

/// Why robfig (and so kube-apiserver) rejects a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("the schedule is empty: write 5 fields, e.g. \"0 9 * * MON-FRI\", or a preset")]
    Empty,
    #[error(
        "Kubernetes schedules have no seconds field: remove the first of the 6 fields \
         (minute hour day-of-month month day-of-week)"
    )]
    Seconds,
    #[error("expected 5 fields (minute hour day-of-month month day-of-week), found {found}{hint}")]
    FieldCount { found: usize, hint: &'static str },
    #[error(
        "unknown descriptor {given}: use @yearly, @annually, @monthly, @weekly, @daily, @midnight \
         or @hourly, or 5 fields"
    )]
    UnknownDescriptor { given: String },
    #[error("{field} \"{token}\": {reason}")]
    Field {
        field: CronField,
        token: String,
        reason: String,
    },
}

impl SyntaxError {
    /// The cron field at fault, if one is.
    pub fn field(&self) -> Option<CronField> {
        match self {
            SyntaxError::Field { field, .. } => Some(*field),
            _ => None,
        }
    }
}

/// Strings robfig accepts that HKS refuses, because what Kubernetes would do
/// with them is not what their author meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Quirk {
    #[error(
        "@every runs at intervals counted from the CronJob's creation or last run, not the \
         clock, and is lost on edits: use a cron expression such as \"*/30 * * * *\""
    )]
    Every,
    #[error(
        "{field} \"{token}\": Kubernetes reads \"{star}-...\" as \"{star}\" and ignores the rest: \
         write \"*\", or a range such as {lo}-{hi}"
    )]
    StarRange {
        field: CronField,
        token: String,
        star: char,
        lo: u32,
        hi: u32,
    },
    #[error("{field} \"{token}\": write numbers without a sign (\"{unsigned}\")")]
    Sign {
        field: CronField,
        token: String,
        unsigned: String,
    },
    #[error("{field} \"{token}\": the list has an empty element: remove the extra comma")]
    EmptyListElement { field: CronField, token: String },
    #[error("{field} \"{token}\": {reason}")]
    UselessStep {
        field: CronField,
        token: String,
        reason: String,
    },
    #[error("this schedule never runs: {reason}")]
    NeverRuns { reason: String },
}

impl Quirk {
    /// The cron field at fault, if one is.
    pub fn field(&self) -> Option<CronField> {
        match self {
            Quirk::StarRange { field, .. }
            | Quirk::Sign { field, .. }
            | Quirk::EmptyListElement { field, .. }
            | Quirk::UselessStep { field, .. } => Some(*field),
            Quirk::Every | Quirk::NeverRuns { .. } => None,
        }
    }
}

/// The result of parsing: rejected as Kubernetes would, refused by HKS, or a spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error(transparent)]
    Refused(#[from] Quirk),
}

/// Parses a schedule as `cron.ParseStandard` does, then refuses the quirks.
pub fn parse(expr: &str) -> Result<Spec, ParseError> {
    let mut quirks = Vec::new();
    let spec = parse_standard(expr, &mut quirks)?;
    if let Some(q) = quirks.into_iter().next() {
        return Err(q.into());
    }
    if let Some(reason) = never_runs(&spec) {
        return Err(Quirk::NeverRuns { reason }.into());
    }
    Ok(spec)
}

/// Parses as `cron.ParseStandard` does: the exact accept/reject of robfig v3,
/// with the quirks it accepts collected on the side.
pub fn parse_standard(expr: &str, quirks: &mut Vec<Quirk>) -> Result<Spec, SyntaxError> {
    if expr.is_empty() {
        return Err(SyntaxError::Empty);
    }
    if expr.starts_with('@') {
        if let Some((_, fields)) = DESCRIPTORS.iter().find(|(name, _)| *name == expr) {
            return parse_standard(fields, quirks);
        }
        if let Some(duration) = expr.strip_prefix("@every ")
            && go_duration_valid(duration)
        {
            quirks.push(Quirk::Every);
            // Any valid spec will do: the quirk is always reported.
            return parse_standard("* * * * *", &mut Vec::new());
        }
        return Err(SyntaxError::UnknownDescriptor {
            given: expr.to_owned(),
        });
    }
    let fields: Vec<&str> = expr.split(is_go_space).filter(|f| !f.is_empty()).collect();
    match fields.len() {
        5 => {}
        6 => return Err(SyntaxError::Seconds),
        0 => return Err(SyntaxError::Empty),
        found => {
            let hint = if found < 5 {
                ": fill the missing fields with *"
            } else {
                ""
            };
            return Err(SyntaxError::FieldCount { found, hint });
        }
    }
    let mut bits = [0u64; 5];
    for (slot, (field, text)) in bits.iter_mut().zip(CronField::ALL.into_iter().zip(fields)) {
        *slot = parse_field(field, text, quirks)?;
    }
    Ok(Spec {
        minute: bits[0],
        hour: bits[1],
        dom: bits[2],
        month: bits[3],
        dow: bits[4],
    })
}

/// Go's `unicode.IsSpace`, which `strings.Fields` splits on.
fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

/// robfig's `getField`: a comma-separated list of ranges; empty elements are
/// dropped (`strings.FieldsFunc`).
fn parse_field(field: CronField, text: &str, quirks: &mut Vec<Quirk>) -> Result<u64, SyntaxError> {
    let mut bits = 0;
    let mut empty_element = false;
    for part in text.split(',') {
        if part.is_empty() {
            empty_element = true;
            continue;
        }
        bits |= parse_range(field, part, quirks)?;
    }
    if empty_element {
        quirks.push(Quirk::EmptyListElement {
            field,
            token: text.to_owned(),
        });
    }
    Ok(bits)
}

/// robfig's `getRange`: `*`, `?`, `N`, `N-M`, each optionally with `/step`.
fn parse_range(field: CronField, expr: &str, quirks: &mut Vec<Quirk>) -> Result<u64, SyntaxError> {
    let (min, max) = field.bounds();
    let (min, max) = (u64::from(min), u64::from(max));
    let err = |reason: String| SyntaxError::Field {
        field,
        token: expr.to_owned(),
        reason,
    };

    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;

    let (start, mut end, mut extra);
    if low_and_high[0] == "*" || low_and_high[0] == "?" {
        (start, end, extra) = (min, max, STAR);
        if !single {
            let star = low_and_high[0].chars().next().unwrap_or('*');
            let (lo, hi) = field.bounds();
            quirks.push(Quirk::StarRange {
                field,
                token: expr.to_owned(),
                star,
                lo,
                hi,
            });
        }
    } else {
        extra = 0;
        start = value(field, expr, low_and_high[0], quirks)?;
        end = match low_and_high.len() {
            1 => start,
            2 => value(field, expr, low_and_high[1], quirks)?,
            _ => return Err(err("a range has one hyphen, as in 1-5".into())),
        };
    }

    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = number(field, expr, range_and_step[1], quirks)?;
            // "N/step" means "N-max/step".
            if single {
                end = max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(err("a step has one slash, as in */15 or 1-30/5".into())),
    };

    if start < min {
        return Err(err(out_of_bounds(field, start)));
    }
    if end > max {
        return Err(err(out_of_bounds(field, end)));
    }
    if start > end {
        return Err(err(backwards(field, start, end)));
    }
    if step == 0 {
        return Err(err("a step must be at least 1".into()));
    }
    if step > 1 && start + step > end {
        quirks.push(Quirk::UselessStep {
            field,
            token: expr.to_owned(),
            reason: useless_step(field, start, end, step),
        });
    }

    let mut bits = 0u64;
    let mut i = start;
    while i <= end {
        bits |= 1 << i;
        i = match i.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(bits | extra)
}

/// robfig's `parseIntOrName`.
fn value(
    field: CronField,
    expr: &str,
    token: &str,
    quirks: &mut Vec<Quirk>,
) -> Result<u64, SyntaxError> {
    match field.value_of_name(token) {
        Some(v) => Ok(v),
        None => number(field, expr, token, quirks),
    }
}

/// robfig's `mustParseInt`: Go's `strconv.Atoi`, then no negatives.
fn number(
    field: CronField,
    expr: &str,
    token: &str,
    quirks: &mut Vec<Quirk>,
) -> Result<u64, SyntaxError> {
    let err = |reason: String| SyntaxError::Field {
        field,
        token: expr.to_owned(),
        reason,
    };
    let (negative, digits) = match token.as_bytes().first() {
        Some(b'+') => (false, &token[1..]),
        Some(b'-') => (true, &token[1..]),
        _ => (false, token),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(not_a_number(field, token)));
    }
    let magnitude: u64 = digits
        .parse()
        .map_err(|_| err(format!("{token} is too large")))?;
    if magnitude > i64::MAX as u64 + u64::from(negative) {
        return Err(err(format!("{token} is too large")));
    }
    if negative && magnitude != 0 {
        return Err(err(format!(
            "{token} is negative: steps and values are 0 or more"
        )));
    }
    if token.starts_with(['+', '-']) {
        quirks.push(Quirk::Sign {
            field,
            token: expr.to_owned(),
            unsigned: digits.to_owned(),
        });
    }
    Ok(magnitude)
}

fn not_a_number(field: CronField, token: &str) -> String {
    let upper = token.to_ascii_uppercase();
    let names = field.names();
    if token.is_empty() {
        return "a value is missing: ranges are written as 1-5, steps as */15".into();
    }
    if field == CronField::DayOfWeek && token.contains('#') {
        return "\"#\" (the nth weekday of the month) is not supported by Kubernetes cron".into();
    }
    if upper.contains('L')
        && upper
            .trim_end_matches('L')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return "\"L\" (last day) is not supported by Kubernetes cron: for the last day of the \
                month, run on days 28-31 and check the date in the job"
            .into();
    }
    if upper.ends_with('W') && upper[..upper.len() - 1].bytes().all(|b| b.is_ascii_digit()) {
        return "\"W\" (nearest weekday) is not supported by Kubernetes cron".into();
    }
    if !names.is_empty() {
        let lower = token.to_lowercase();
        if let Some(name) = names
            .iter()
            .find(|n| lower.len() > 3 && lower.starts_with(*n))
        {
            return format!(
                "names are exactly three letters: write {} instead of {token}",
                name.to_uppercase()
            );
        }
        let other = if field == CronField::Month {
            &DAY_NAMES[..]
        } else {
            &MONTH_NAMES[..]
        };
        if other.contains(&token.to_lowercase().as_str()) {
            let kind = if field == CronField::Month {
                "a day"
            } else {
                "a month"
            };
            return format!("{token} is {kind} name, which belongs in the other field");
        }
        let what = if field == CronField::Month {
            "JAN-DEC or 1-12"
        } else {
            "SUN-SAT or 0-6"
        };
        return format!("{token} is not a number or a name: use {what}");
    }
    if MONTH_NAMES.contains(&token.to_lowercase().as_str())
        || DAY_NAMES.contains(&token.to_lowercase().as_str())
    {
        return format!(
            "names such as {token} are only allowed in the month and day-of-week fields"
        );
    }
    let (min, max) = field.bounds();
    format!(
        "{token} is not a number: use {min}-{max}, *, a list (1,2), a range (1-5) or a step (*/5)"
    )
}

fn out_of_bounds(field: CronField, value: u64) -> String {
    let (min, max) = field.bounds();
    match (field, value) {
        (CronField::DayOfWeek, 7) => {
            "Kubernetes numbers Sunday 0 (or SUN), and 7 is an error".into()
        }
        (CronField::Hour, 24) => "hours are 0-23: midnight is hour 0".into(),
        (CronField::Minute, 60) => "minutes are 0-59".into(),
        (CronField::DayOfMonth, 0) => "days of the month are 1-31".into(),
        (CronField::Month, 0) => "months are 1-12 (or JAN-DEC)".into(),
        _ => format!("{value} is outside {min}-{max}"),
    }
}

fn backwards(field: CronField, start: u64, end: u64) -> String {
    let (min, max) = field.bounds();
    let fix = if field == CronField::DayOfWeek && end == 0 {
        format!("{start}-6,0")
    } else {
        format!("{start}-{max},{min}-{end}")
    };
    format!(
        "the range {start}-{end} runs backwards and Kubernetes does not wrap around: write {fix}"
    )
}

fn useless_step(field: CronField, start: u64, end: u64, step: u64) -> String {
    let only = if field == CronField::DayOfWeek {
        DAY_NAMES[start as usize].to_uppercase()
    } else if field == CronField::Month {
        MONTH_NAMES[start as usize - 1].to_uppercase()
    } else {
        start.to_string()
    };
    let base = format!(
        "a step of {step} from {start} through {end} selects only {only}, so Kubernetes runs at \
         {field} {only} only"
    );
    match field {
        CronField::Minute if step >= 60 && step.is_multiple_of(60) && step / 60 < 24 => format!(
            "{base}; for every {step} minutes write \"0 */{h} * * *\"",
            h = step / 60
        ),
        CronField::Minute if step >= 60 => format!(
            "{base}; cron cannot express every {step} minutes in one expression: pick a step \
             that divides 60 (e.g. */30), or whole hours (e.g. \"0 */2 * * *\")"
        ),
        CronField::Hour => {
            format!("{base}; for once a day write a single hour, e.g. \"0 {start} * * *\"")
        }
        _ => format!("{base}; write {only} if that is what you mean"),
    }
}

/// Go's `time.ParseDuration` accepts this (used only to tell a valid `@every`
/// from an unknown descriptor): `[-+]?([0-9]*(\.[0-9]*)?unit)+` or "0", with
/// its overflow rules (at most 2^63 - 1 nanoseconds).
fn go_duration_valid(s: &str) -> bool {
    const LIMIT: u128 = 1 << 63;
    let negative = s.starts_with('-');
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_digits = &rest[..int_len];
        let mut len = int_len;
        let mut frac_digits = "";
        if rest[len..].starts_with('.') {
            let frac_len = rest[len + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            frac_digits = &rest[len + 1..len + 1 + frac_len];
            len += 1 + frac_len;
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return false;
        }
        rest = &rest[len..];
        let unit_len = rest
            .bytes()
            .take_while(|b| *b != b'.' && !b.is_ascii_digit())
            .count();
        let unit: u128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return false,
        };
        rest = &rest[unit_len..];
        // Go's leadingInt overflows past 2^63; each step must stay within it.
        let mut v: u128 = 0;
        for d in int_digits.bytes() {
            v = v * 10 + u128::from(d - b'0');
            if v > LIMIT {
                return false;
            }
        }
        if v > LIMIT / unit {
            return false;
        }
        v *= unit;
        // Go keeps about 19 digits of the fraction; the rest cannot overflow.
        let mut f: u128 = 0;
        let mut scale: u128 = 1;
        for d in frac_digits.bytes().take(19) {
            f = f * 10 + u128::from(d - b'0');
            scale *= 10;
        }
        v += f * unit / scale;
        if v > LIMIT {
            return false;
        }
        total += v;
        if total > LIMIT {
            return false;
        }
    }
    negative || total < LIMIT
}

/// Why a schedule that parses can never fire, if it cannot.
fn never_runs(spec: &Spec) -> Option<String> {
    let months: Vec<u32> = (1..=12).filter(|m| spec.month & (1 << m) != 0).collect();
    let days = |mask: u64| (1..=31u32).filter(move |d| mask & (1 << d) != 0);
    if spec.minute & !STAR == 0 || spec.hour & !STAR == 0 || months.is_empty() {
        return Some("a field selects no value".into());
    }
    let dom_days: Vec<u32> = days(spec.dom).collect();
    let dow_any = spec.dow & !STAR != 0;
    if spec.days_anded() {
        if !dow_any || dom_days.is_empty() {
            return Some("a day field selects no value".into());
        }
        // Longest each month can be (February 29 in leap years).
        let fits = months.iter().any(|&m| {
            dom_days
                .iter()
                .any(|&d| d <= crate::zone::days_in_month(2024, m))
        });
        if !fits {
            let month_names: Vec<String> = months
                .iter()
                .map(|&m| crate::words::month_name(m).to_owned())
                .collect();
            let day_list: Vec<String> = dom_days.iter().map(u32::to_string).collect();
            return Some(format!(
                "day {} never occurs in {}",
                day_list.join(", "),
                crate::words::join_or(&month_names)
            ));
        }
    } else if dom_days.is_empty() && !dow_any {
        return Some("a day field selects no value".into());
    }
    None
}

/// The values of a field's bit set, in order.
pub(crate) fn values(bits: u64, field: CronField) -> Vec<u32> {
    let (min, max) = field.bounds();
    (min..=max).filter(|v| bits & (1 << v) != 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(expr: &str) -> String {
        match parse(expr) {
            Err(ParseError::Syntax(e)) => e.to_string(),
            other => panic!("{expr}: expected a syntax error, got {other:?}"),
        }
    }

    fn refused(expr: &str) -> String {
        match parse(expr) {
            Err(ParseError::Refused(q)) => q.to_string(),
            other => panic!("{expr}: expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn rejects_what_kubernetes_rejects() {
        for expr in [
            "0 0 * * 7",
            "0 0 L * *",
            "0 0 * * 5#2",
            "0 0 15W * *",
            "0 0 * * MONDAY",
            "0 12 * * * *",
            "0 0 * * 6-0",
            "*/0 * * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "60 * * * *",
            "",
            "@reboot",
            "0 0 * *",
            "1-2-3 * * * *",
            "*/2/3 * * * *",
            "-5 * * * *",
            "*/-1 * * * *",
            " @daily",
            "@daily ",
            "@every 5",
        ] {
            syntax(expr);
        }
    }

    #[test]
    fn errors_say_how_to_fix() {
        assert_eq!(
            syntax("0 0 * * 7"),
            "day-of-week \"7\": Kubernetes numbers Sunday 0 (or SUN), and 7 is an error"
        );
        assert!(syntax("0 12 * * * *").starts_with("Kubernetes schedules have no seconds field"));
        assert!(syntax("0 0 * * MONDAY").ends_with("write MON instead of MONDAY"));
        assert!(syntax("0 0 * * 6-0").ends_with("write 6-6,0"));
        assert!(refused("*/90 * * * *").contains("every 90 minutes"));
    }

    #[test]
    fn accepts_the_grammar() {
        let s = parse("5/15 * ? JAN-mar,oct Mon-FRI").unwrap();
        assert_eq!(s.minute, (1 << 5) | (1 << 20) | (1 << 35) | (1 << 50));
        assert_eq!(s.dom & STAR, STAR);
        assert_eq!(s.month, (1 << 1) | (1 << 2) | (1 << 3) | (1 << 10));
        assert_eq!(s.dow, 0b0111110);
        assert!(parse("0 0 */2 * MON").map(|s| !s.days_anded()).unwrap());
        assert!(parse("0 0 */1 * MON").map(|s| s.days_anded()).unwrap());
        assert_eq!(parse("@weekly").unwrap(), parse("0 0 * * 0").unwrap());
        assert!(parse("0 0 29 2 *").is_ok(), "runs in leap years");
        assert!(parse("007 1 1 1 0").is_ok());
    }

    #[test]
    fn refuses_quirks_kubernetes_accepts() {
        for expr in [
            "*-5 * * * *",
            "+1 * * * *",
            "1,,2 * * * *",
            ", * * * *",
            "0 0 31 2 *",
            "@every 1h",
        ] {
            let mut quirks = Vec::new();
            assert!(
                parse_standard(expr, &mut quirks).is_ok(),
                "{expr}: Kubernetes accepts it"
            );
            refused(expr);
        }
    }
}
