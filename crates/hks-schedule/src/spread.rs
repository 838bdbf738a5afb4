//! Spread schedules: `H` in the minute or hour field, as Jenkins has it,
//! means "a fixed value chosen from this CronJob's identity", so that a
//! hundred `H * * * *` jobs do not all start at :00.
//!
//! Kubernetes knows no `H`: HKS turns the expression into a plain one
//! ([`expand`]) before anything else reads it, and the plain expression is
//! what the apiserver validates and the CronJob controller fires. The value
//! comes from a SHA-256 of the identity (HKS uses `<project>/<name>`) and the
//! field, so it is the same on every machine, across restarts and versions,
//! and differs between names.
//!
//! The forms, in the minute (0-59) and hour (0-23) fields, alone or as
//! elements of a list:
//! - `H`: one value of the field's range;
//! - `H(a-b)`: one value from `a` to `b`;
//! - `H/n`: every `n` from an offset below `n` (`H/15` might be `7-59/15`);
//! - `H(a-b)/n`: every `n` from an offset in `a..a+n`, up to `b`.

use sha2::{Digest, Sha256};

use crate::{CronField, Input, Problem, ProblemCode};

/// Whether `expr` uses `H` anywhere (in any field: one outside the minute
/// and hour fields is an error [`expand`] reports).
pub fn has_spread(expr: &str) -> bool {
    let expr = expr.trim();
    !expr.starts_with('@')
        && expr
            .split_whitespace()
            .flat_map(|f| f.split(','))
            .any(is_spread_element)
}

/// An element that is `H`, `H(...)` or `H/...` (not a name such as `THU`).
fn is_spread_element(element: &str) -> bool {
    element == "H" || element.starts_with("H(") || element.starts_with("H/")
}

/// The plain expression for `expr` with every `H` replaced by the value
/// chosen from `identity`; `expr` itself (trimmed) when it has no `H`.
/// Anything else wrong with the expression is left for
/// [`check_schedule`](crate::check_schedule) to report.
pub fn expand(expr: &str, identity: &str) -> Result<String, Problem> {
    let trimmed = expr.trim();
    if !has_spread(trimmed) {
        return Ok(trimmed.to_owned());
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    let mut out = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let cron_field = CronField::ALL.get(i).copied();
        let mut elements = Vec::new();
        for (j, element) in field.split(',').enumerate() {
            if !is_spread_element(element) {
                elements.push(element.to_owned());
                continue;
            }
            let Some(cron_field @ (CronField::Minute | CronField::Hour)) = cron_field else {
                return Err(problem(
                    cron_field,
                    ProblemCode::SpreadField,
                    format!(
                        "{element:?}: H (a value chosen from the CronJob's name) is only for the \
                         minute and hour fields; write the {} as a number",
                        cron_field.map_or("field", field_name)
                    ),
                ));
            };
            let hash = hash(identity, cron_field, j);
            elements.push(expand_element(element, cron_field, hash)?);
        }
        out.push(elements.join(","));
    }
    Ok(out.join(" "))
}

fn field_name(field: CronField) -> &'static str {
    match field {
        CronField::Minute => "minute",
        CronField::Hour => "hour",
        CronField::DayOfMonth => "day of the month",
        CronField::Month => "month",
        CronField::DayOfWeek => "day of the week",
    }
}

fn problem(cron_field: Option<CronField>, code: ProblemCode, message: String) -> Problem {
    Problem {
        input: Input::Schedule,
        cron_field,
        code,
        message,
        kubernetes_accepts: false,
    }
}

/// A number from the identity, the field and the element's place in a list
/// (so `H,H` gives two values, usually different).
fn hash(identity: &str, field: CronField, element: usize) -> u64 {
    let mut h = Sha256::new();
    h.update(identity.as_bytes());
    h.update([0, field as u8, 0]);
    h.update(element.to_le_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// One `H` element as a plain element.
fn expand_element(element: &str, field: CronField, hash: u64) -> Result<String, Problem> {
    let invalid = |why: &str| {
        problem(
            Some(field),
            ProblemCode::InvalidField,
            format!(
                "{element:?} in the {} field: {why}; write H, H(a-b), H/n or H(a-b)/n",
                field_name(field)
            ),
        )
    };
    let (low, high) = field.bounds();
    let rest = &element[1..];
    let (range, step) = match rest.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (rest, None),
    };
    let (a, b) = if range.is_empty() {
        (low, high)
    } else {
        let inner = range
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| invalid("a range after H goes in parentheses"))?;
        let (a, b) = inner
            .split_once('-')
            .ok_or_else(|| invalid("the range needs a start and an end"))?;
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
                .ok_or_else(|| invalid("the range's ends must be numbers"))
        };
        let (a, b) = (number(a)?, number(b)?);
        if a < low || b > high || a > b {
            return Err(invalid(&format!(
                "the range must go up within {low}-{high}"
            )));
        }
        (a, b)
    };
    let width = u64::from(b - a + 1);
    match step {
        None => Ok((u64::from(a) + hash % width).to_string()),
        Some(step) => {
            let n = (!step.is_empty() && step.bytes().all(|c| c.is_ascii_digit()))
                .then(|| step.parse::<u32>().ok())
                .flatten()
                .filter(|n| *n >= 1)
                .ok_or_else(|| invalid("the step must be a whole number of at least 1"))?;
            let offset = u64::from(a) + hash % u64::from(n).min(width);
            // A step that selects one value only is a quirk HKS refuses;
            // that value alone says the same.
            if offset + u64::from(n) > u64::from(b) {
                Ok(offset.to_string())
            } else if n == 1 {
                Ok(format!("{offset}-{b}"))
            } else {
                Ok(format!("{offset}-{b}/{n}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute_and_hour(expr: &str) -> (u32, u32) {
        let f: Vec<&str> = expr.split(' ').collect();
        (f[0].parse().unwrap(), f[1].parse().unwrap())
    }

    #[test]
    fn plain_expressions_stay_as_they_are() {
        for expr in ["0 9 * * MON-FRI", "@hourly", "*/5 * * * THU", " 1 2 3 4 5 "] {
            assert!(!has_spread(expr), "{expr}");
            assert_eq!(expand(expr, "p/a").unwrap(), expr.trim());
        }
    }

    #[test]
    fn the_same_identity_gives_the_same_values_and_others_spread() {
        let a = expand("H H * * *", "shop/nightly").unwrap();
        assert_eq!(a, expand("H H * * *", "shop/nightly").unwrap());
        let (m, h) = minute_and_hour(&a);
        assert!(m < 60 && h < 24, "{a}");
        // A hundred names do not all start at the same minute.
        let minutes: std::collections::HashSet<String> = (0..100)
            .map(|i| expand("H * * * *", &format!("shop/job-{i}")).unwrap())
            .collect();
        assert!(minutes.len() > 40, "{} distinct minutes", minutes.len());
    }

    /// The values must never change between versions: HKS would move every
    /// spread CronJob's runs. These are pinned.
    #[test]
    fn values_are_pinned() {
        insta::assert_snapshot!(
            [
                "H H * * *",
                "H/15 * * * *",
                "H(0-29) H(8-17) * * MON-FRI",
                "H(10-40)/10 H/6 * * *",
                "H,H 3 * * *",
            ]
            .iter()
            .map(|e| format!("{e} -> {}", expand(e, "shop/nightly").unwrap()))
            .collect::<Vec<_>>()
            .join("\n")
        );
    }

    #[test]
    fn ranges_and_steps_stay_within_their_bounds() {
        for i in 0..300 {
            let id = format!("p/{i}");
            let e = expand("H(10-20) H(22-23) * * *", &id).unwrap();
            let (m, h) = minute_and_hour(&e);
            assert!((10..=20).contains(&m) && (22..=23).contains(&h), "{e}");
            let e = expand("H/15 H(8-17)/4 * * *", &id).unwrap();
            let f: Vec<&str> = e.split(' ').collect();
            let (start, rest) = f[0].split_once('-').unwrap();
            assert!(start.parse::<u32>().unwrap() < 15, "{e}");
            assert_eq!(rest, "59/15", "{e}");
            let (start, rest) = f[1].split_once('-').unwrap();
            let start: u32 = start.parse().unwrap();
            assert!((8..12).contains(&start), "{e}");
            assert_eq!(rest, "17/4", "{e}");
            // Every expansion is a schedule the engine accepts.
            crate::check_schedule(&e).unwrap();
        }
    }

    #[test]
    fn a_step_that_leaves_one_value_becomes_that_value() {
        for i in 0..100 {
            let e = expand("H(0-10)/30 * * * *", &format!("p/{i}")).unwrap();
            let m: u32 = e.split(' ').next().unwrap().parse().unwrap();
            assert!(m <= 10, "{e}");
        }
        assert_eq!(expand("H(5-5)/1 * * * *", "p/a").unwrap(), "5 * * * *");
    }

    #[test]
    fn h_elsewhere_or_malformed_is_refused_with_the_field() {
        for (expr, field, code) in [
            ("0 0 H * *", CronField::DayOfMonth, ProblemCode::SpreadField),
            ("0 0 * H *", CronField::Month, ProblemCode::SpreadField),
            ("0 0 * * H", CronField::DayOfWeek, ProblemCode::SpreadField),
            (
                "H(0-60) * * * *",
                CronField::Minute,
                ProblemCode::InvalidField,
            ),
            (
                "H(9-3) * * * *",
                CronField::Minute,
                ProblemCode::InvalidField,
            ),
            ("H(3) * * * *", CronField::Minute, ProblemCode::InvalidField),
            ("0 H/0 * * *", CronField::Hour, ProblemCode::InvalidField),
            ("0 H/x * * *", CronField::Hour, ProblemCode::InvalidField),
            ("0 H(1-x) * * *", CronField::Hour, ProblemCode::InvalidField),
        ] {
            let p = expand(expr, "p/a").unwrap_err();
            assert_eq!((p.cron_field, p.code), (Some(field), code), "{expr}: {p:?}");
            assert!(p.message.contains("H"), "{expr}: {}", p.message);
        }
        // `H0-3` is not an H element at all: the engine reports it.
        assert!(crate::check_schedule("H0-3 * * * *").is_err());
    }
}
