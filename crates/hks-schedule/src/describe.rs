//! Plain-English descriptions of schedules.
//!
//! Descriptions are built from the parsed bit sets, not the text, so equivalent
//! expressions read the same ("0 9 * * 1-5" and "0 9 ? * MON-FRI"), and so do
//! descriptors ("@daily"). The day-of-month / day-of-week OR that robfig applies
//! when neither is a star is spelled out.

use crate::expr::{CronField, STAR, Spec, values};
use crate::words::{DAYS, join_and, month_name};

/// A field's selection in a form worth naming.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    All,
    One(u32),
    /// Every `step`th value from `start` through `end` (inclusive, `end` reached).
    Step {
        start: u32,
        end: u32,
        step: u32,
    },
    /// A contiguous run of more than two values.
    Range(u32, u32),
    List(Vec<u32>),
}

fn shape(bits: u64, field: CronField) -> Shape {
    let (min, max) = field.bounds();
    let vals = values(bits, field);
    if vals.len() as u32 == max - min + 1 {
        return Shape::All;
    }
    match vals.as_slice() {
        [one] => Shape::One(*one),
        [first, second, ..] if vals.len() > 2 => {
            let step = second - first;
            let arithmetic = vals.windows(2).all(|w| w[1] - w[0] == step);
            let last = *vals.last().unwrap_or(first);
            if arithmetic && step == 1 {
                Shape::Range(*first, last)
            } else if arithmetic && last + step > max {
                Shape::Step {
                    start: *first,
                    end: last,
                    step,
                }
            } else {
                Shape::List(vals)
            }
        }
        _ => Shape::List(vals),
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn hm(h: u32, m: u32) -> String {
    format!("{h:02}:{m:02}")
}

/// The time-of-day part: "At 09:00", "Every 15 minutes", "At minute 0 past every 6th hour".
fn time_part(spec: &Spec) -> String {
    let minutes = values(spec.minute, CronField::Minute);
    let hours = values(spec.hour, CronField::Hour);
    let minute_shape = shape(spec.minute, CronField::Minute);
    let hour_shape = shape(spec.hour, CronField::Hour);

    let few_hours = matches!(hour_shape, Shape::One(_) | Shape::List(_));
    if minutes.len() * hours.len() <= 4 && few_hours {
        let times: Vec<String> = hours
            .iter()
            .flat_map(|&h| minutes.iter().map(move |&m| hm(h, m)))
            .collect();
        return format!("At {}", join_and(&times));
    }
    let minute_text = match &minute_shape {
        Shape::All => "Every minute".to_owned(),
        Shape::Step { start: 0, step, .. } => format!("Every {step} minutes"),
        Shape::Step { start, end, step } => {
            format!("Every {step} minutes from minute {start} through {end}")
        }
        Shape::One(m) => format!("At minute {m}"),
        Shape::Range(a, b) => format!("Every minute from minute {a} through {b}"),
        Shape::List(v) => {
            format!(
                "At minutes {}",
                join_and(&v.iter().map(u32::to_string).collect::<Vec<_>>())
            )
        }
    };
    let hour_text = match &hour_shape {
        Shape::All => match minute_shape {
            Shape::One(_) | Shape::List(_) => " past every hour".to_owned(),
            _ => String::new(),
        },
        Shape::One(h) => format!(" from {} through {}", hm(*h, 0), hm(*h, 59)),
        Shape::Range(a, b) => format!(" from {} through {}", hm(*a, 0), hm(*b, 59)),
        Shape::Step { start: 0, step, .. } => format!(" past every {} hour", ordinal(*step)),
        Shape::Step { start, end, step } => {
            format!(
                " past every {} hour from {} through {}",
                ordinal(*step),
                hm(*start, 0),
                hm(*end, 59)
            )
        }
        Shape::List(v) => {
            format!(
                " past hours {}",
                join_and(&v.iter().map(u32::to_string).collect::<Vec<_>>())
            )
        }
    };
    format!("{minute_text}{hour_text}")
}

fn dom_text(bits: u64) -> String {
    match shape(bits, CronField::DayOfMonth) {
        Shape::All => "every day".into(),
        Shape::One(d) => format!("on day {d} of the month"),
        Shape::Range(a, b) => format!("on days {a} through {b} of the month"),
        Shape::Step { start: 1, step, .. } => {
            format!("on every {} day of the month", ordinal(step))
        }
        Shape::Step { start, end, step } => {
            format!(
                "on every {} day of the month from day {start} through {end}",
                ordinal(step)
            )
        }
        Shape::List(v) => format!(
            "on days {} of the month",
            join_and(&v.iter().map(u32::to_string).collect::<Vec<_>>())
        ),
    }
}

fn dow_text(bits: u64) -> String {
    let name = |d: u32| DAYS[d as usize].to_owned();
    match shape(bits, CronField::DayOfWeek) {
        Shape::All => "every day".into(),
        Shape::One(d) => format!("on {}", name(d)),
        Shape::Range(a, b) => format!("{} through {}", name(a), name(b)),
        Shape::Step { start, end, step } => format!(
            "on every {} day of the week from {} through {}",
            ordinal(step),
            name(start),
            name(end)
        ),
        Shape::List(v) => format!(
            "on {}",
            join_and(&v.into_iter().map(name).collect::<Vec<_>>())
        ),
    }
}

fn month_text(bits: u64) -> Option<String> {
    let name = |m: u32| month_name(m).to_owned();
    match shape(bits, CronField::Month) {
        Shape::All => None,
        Shape::One(m) => Some(format!("in {}", name(m))),
        Shape::Range(a, b) => Some(format!("from {} through {}", name(a), name(b))),
        Shape::Step { start: 1, step, .. } => Some(format!("every {} month", ordinal(step))),
        Shape::Step { start, end, step } => Some(format!(
            "every {} month from {} through {}",
            ordinal(step),
            name(start),
            name(end)
        )),
        Shape::List(v) => Some(format!(
            "in {}",
            join_and(&v.into_iter().map(name).collect::<Vec<_>>())
        )),
    }
}

/// The description without the zone.
pub(crate) fn describe(spec: &Spec) -> String {
    let mut parts = vec![time_part(spec)];
    let dom_all = shape(spec.dom, CronField::DayOfMonth) == Shape::All;
    let dow_all = shape(spec.dow, CronField::DayOfWeek) == Shape::All;
    let day = if spec.days_anded() {
        // At most one of the two restricts: a star field selects every value.
        match (
            spec.dom & STAR != 0 || dom_all,
            spec.dow & STAR != 0 || dow_all,
        ) {
            (true, true) => None,
            (true, false) => Some(dow_text(spec.dow)),
            (false, true) => Some(dom_text(spec.dom)),
            (false, false) => Some(format!("{} and {}", dom_text(spec.dom), dow_text(spec.dow))),
        }
    } else if dom_all || dow_all {
        // OR with a full field: every day matches.
        None
    } else {
        let dow = dow_text(spec.dow);
        let dow = if dow.starts_with("on ") {
            dow
        } else {
            format!("on {dow}")
        };
        Some(format!("{} or {dow}", dom_text(spec.dom)))
    };
    parts.extend(day);
    parts.extend(month_text(spec.month));
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    fn d(expr: &str) -> String {
        describe(&parse(expr).unwrap())
    }

    #[test]
    fn reads_like_english() {
        assert_eq!(d("0 9 * * MON-FRI"), "At 09:00, Monday through Friday");
        assert_eq!(d("0 9 ? * 1-5"), "At 09:00, Monday through Friday");
        assert_eq!(d("0 */6 * * *"), "At minute 0 past every 6th hour");
        assert_eq!(d("*/15 * * * *"), "Every 15 minutes");
        assert_eq!(d("* * * * *"), "Every minute");
        assert_eq!(
            d("0 0 1 * MON"),
            "At 00:00, on day 1 of the month or on Monday"
        );
        assert_eq!(d("@daily"), "At 00:00");
        assert_eq!(d("@yearly"), "At 00:00, on day 1 of the month, in January");
        assert_eq!(d("30 2 * * 0,6"), "At 02:30, on Sunday and Saturday");
        assert_eq!(d("0 9,17 * * *"), "At 09:00 and 17:00");
        assert_eq!(d("5 * * * *"), "At minute 5 past every hour");
        assert_eq!(
            d("*/10 9-17 * * 1-5"),
            "Every 10 minutes from 09:00 through 17:59, Monday through Friday"
        );
        assert_eq!(
            d("0 0 */2 * MON"),
            "At 00:00, on every 2nd day of the month or on Monday"
        );
        assert_eq!(d("0 0 1-31 * MON"), "At 00:00");
        assert_eq!(
            d("15 4 1,15 */3 *"),
            "At 04:15, on days 1 and 15 of the month, every 3rd month"
        );
    }
}
