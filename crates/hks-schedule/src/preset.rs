//! Presets: the schedules most people want, to and from cron.
//!
//! A preset becomes one canonical expression, and an expression that a preset
//! can express is recognised as that preset whatever its spelling, so a schedule
//! editor can switch between its preset and raw views without losing anything.
//! Recognition works on the parsed bit sets: two expressions are the same
//! preset exactly when Kubernetes fires them at the same times.

use serde::{Deserialize, Serialize};

use crate::expr::{CronField, STAR, Spec};

/// Days of the week, Sunday first as Kubernetes numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Weekday {
    #[serde(rename = "SUN")]
    Sunday,
    #[serde(rename = "MON")]
    Monday,
    #[serde(rename = "TUE")]
    Tuesday,
    #[serde(rename = "WED")]
    Wednesday,
    #[serde(rename = "THU")]
    Thursday,
    #[serde(rename = "FRI")]
    Friday,
    #[serde(rename = "SAT")]
    Saturday,
}

impl Weekday {
    const ALL: [Weekday; 7] = [
        Weekday::Sunday,
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
    ];

    /// Kubernetes' number for the day: Sunday is 0.
    pub fn number(self) -> u32 {
        self as u32
    }

    fn abbreviation(self) -> &'static str {
        ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"][self as usize]
    }
}

/// A schedule chosen from the common shapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Preset {
    /// Every `interval` minutes from minute 0; `interval` divides 60.
    EveryMinutes { interval: u32 },
    /// Every hour at `minute`.
    Hourly { minute: u32 },
    /// Every day at `hour`:`minute`.
    Daily { hour: u32, minute: u32 },
    /// On the given days at `hour`:`minute`.
    Weekly {
        days: Vec<Weekday>,
        hour: u32,
        minute: u32,
    },
    /// On `day` of every month at `hour`:`minute`.
    Monthly { day: u32, hour: u32, minute: u32 },
}

/// Why a preset cannot become a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    #[error(
        "interval: every N minutes needs N to divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30)"
    )]
    Interval,
    #[error("minute: use 0-59")]
    Minute,
    #[error("hour: use 0-23")]
    Hour,
    #[error("day: use 1-31")]
    Day,
    #[error("days: choose at least one day of the week")]
    NoDays,
}

impl Preset {
    /// The canonical cron expression of the preset.
    pub fn to_cron(&self) -> Result<String, PresetError> {
        let check_time = |hour: u32, minute: u32| {
            if minute > 59 {
                Err(PresetError::Minute)
            } else if hour > 23 {
                Err(PresetError::Hour)
            } else {
                Ok(())
            }
        };
        Ok(match self {
            Preset::EveryMinutes { interval: 1 } => "* * * * *".to_owned(),
            Preset::EveryMinutes { interval } => {
                if *interval == 0 || *interval >= 60 || 60 % interval != 0 {
                    return Err(PresetError::Interval);
                }
                format!("*/{interval} * * * *")
            }
            Preset::Hourly { minute } => {
                check_time(0, *minute)?;
                format!("{minute} * * * *")
            }
            Preset::Daily { hour, minute } => {
                check_time(*hour, *minute)?;
                format!("{minute} {hour} * * *")
            }
            Preset::Weekly { days, hour, minute } => {
                check_time(*hour, *minute)?;
                let mut days = days.clone();
                days.sort();
                days.dedup();
                if days.is_empty() {
                    return Err(PresetError::NoDays);
                }
                let dow = if days.len() == 7 {
                    "*".to_owned()
                } else {
                    day_list(&days)
                };
                format!("{minute} {hour} * * {dow}")
            }
            Preset::Monthly { day, hour, minute } => {
                check_time(*hour, *minute)?;
                if !(1..=31).contains(day) {
                    return Err(PresetError::Day);
                }
                format!("{minute} {hour} {day} * *")
            }
        })
    }

    /// The preset a parsed schedule is, if any.
    pub(crate) fn recognise(spec: &Spec) -> Option<Preset> {
        let vals = |bits: u64, f: CronField| crate::expr::values(bits, f);
        let full = |bits: u64, f: CronField| {
            let (min, max) = f.bounds();
            vals(bits, f).len() as u32 == max - min + 1
        };
        let single = |bits: u64, f: CronField| match vals(bits, f).as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        if !full(spec.month, CronField::Month) {
            return None;
        }
        let every_day = if spec.days_anded() {
            full(spec.dom, CronField::DayOfMonth) && full(spec.dow, CronField::DayOfWeek)
        } else {
            full(spec.dom, CronField::DayOfMonth) || full(spec.dow, CronField::DayOfWeek)
        };
        let hour = single(spec.hour, CronField::Hour);
        let minute = single(spec.minute, CronField::Minute);

        if every_day && full(spec.hour, CronField::Hour) {
            if let Some(minute) = minute {
                return Some(Preset::Hourly { minute });
            }
            let minutes = vals(spec.minute, CronField::Minute);
            let interval = minutes.get(1).copied().unwrap_or(60) - minutes[0];
            let regular = minutes[0] == 0
                && 60 % interval == 0
                && minutes.len() as u32 == 60 / interval
                && minutes.windows(2).all(|w| w[1] - w[0] == interval);
            return regular.then_some(Preset::EveryMinutes { interval });
        }
        let (hour, minute) = (hour?, minute?);
        if every_day {
            return Some(Preset::Daily { hour, minute });
        }
        // Weekly: only day-of-week restricts (day-of-month is a star, so ANDed).
        if spec.dom & STAR != 0 && !full(spec.dow, CronField::DayOfWeek) {
            let days = vals(spec.dow, CronField::DayOfWeek)
                .into_iter()
                .map(|d| Weekday::ALL[d as usize])
                .collect();
            return Some(Preset::Weekly { days, hour, minute });
        }
        // Monthly: only day-of-month restricts, to a single day.
        if spec.dow & STAR != 0 && full(spec.dow, CronField::DayOfWeek) {
            let day = single(spec.dom, CronField::DayOfMonth)?;
            return Some(Preset::Monthly { day, hour, minute });
        }
        None
    }
}

/// "MON-FRI", "MON,WED,FRI", "SUN,SAT": runs of three or more days as ranges.
fn day_list(days: &[Weekday]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && days[j + 1].number() == days[j].number() + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!(
                "{}-{}",
                days[i].abbreviation(),
                days[j].abbreviation()
            ));
        } else {
            parts.extend(days[i..=j].iter().map(|d| d.abbreviation().to_owned()));
        }
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    fn recognise(expr: &str) -> Option<Preset> {
        Preset::recognise(&parse(expr).unwrap())
    }

    #[test]
    fn presets_round_trip_through_cron() {
        use Weekday::*;
        let presets = [
            Preset::EveryMinutes { interval: 1 },
            Preset::EveryMinutes { interval: 15 },
            Preset::Hourly { minute: 5 },
            Preset::Daily {
                hour: 2,
                minute: 30,
            },
            Preset::Weekly {
                days: vec![Monday, Tuesday, Wednesday, Thursday, Friday],
                hour: 9,
                minute: 0,
            },
            Preset::Weekly {
                days: vec![Sunday, Saturday],
                hour: 9,
                minute: 0,
            },
            Preset::Weekly {
                days: vec![Monday, Wednesday, Friday],
                hour: 9,
                minute: 0,
            },
            Preset::Monthly {
                day: 1,
                hour: 0,
                minute: 0,
            },
        ];
        for preset in presets {
            let cron = preset.to_cron().unwrap();
            assert_eq!(recognise(&cron), Some(preset.clone()), "{cron}");
        }
        assert_eq!(
            Preset::Weekly {
                days: vec![Friday, Monday, Tuesday, Wednesday, Thursday],
                hour: 9,
                minute: 0
            }
            .to_cron()
            .unwrap(),
            "0 9 * * MON-FRI"
        );
    }

    #[test]
    fn raw_expressions_are_recognised_whatever_their_spelling() {
        assert_eq!(
            recognise("0 9 ? * 1-5"),
            recognise("0 9 * * MON,TUE,WED,THU,FRI")
        );
        assert_eq!(
            recognise("@daily"),
            Some(Preset::Daily { hour: 0, minute: 0 })
        );
        assert_eq!(recognise("@hourly"), Some(Preset::Hourly { minute: 0 }));
        assert_eq!(
            recognise("0,20,40 * * * *"),
            Some(Preset::EveryMinutes { interval: 20 })
        );
        assert_eq!(
            recognise("0 0 1-31 * MON"),
            Some(Preset::Daily { hour: 0, minute: 0 })
        );
        assert_eq!(recognise("*/7 * * * *"), None);
        assert_eq!(
            recognise("0 9 * * 1-5/2"),
            Some(Preset::Weekly {
                days: vec![Weekday::Monday, Weekday::Wednesday, Weekday::Friday],
                hour: 9,
                minute: 0
            })
        );
        assert_eq!(
            recognise("0 0 1 * MON"),
            None,
            "day 1 OR Monday is no preset"
        );
        assert_eq!(recognise("0 9 * 1 *"), None);
        assert_eq!(recognise("0 9,17 * * *"), None);
    }

    #[test]
    fn bad_presets_say_which_field() {
        assert_eq!(
            Preset::EveryMinutes { interval: 7 }.to_cron(),
            Err(PresetError::Interval)
        );
        assert_eq!(
            Preset::Daily {
                hour: 24,
                minute: 0
            }
            .to_cron(),
            Err(PresetError::Hour)
        );
        assert_eq!(
            Preset::Weekly {
                days: vec![],
                hour: 1,
                minute: 0
            }
            .to_cron(),
            Err(PresetError::NoDays)
        );
    }
}
