//! Differential test against the real robfig/cron v3.0.1.
//!
//! `tools/robfig-oracle` (Go, built here through the Go module proxy) answers
//! what kube-apiserver accepts and when the CronJob controller fires. This test
//! generates thousands of cases over the whole grammar, many zones and start
//! instants around DST transitions and month and year ends, and requires the
//! engine to agree on every one. The only allowed difference is a quirk that
//! HKS refuses on purpose while Kubernetes accepts it; those are listed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hks_schedule::check;
use jiff::Timestamp;
use serde::Deserialize;

/// Zones with every kind of offset and rule: half-hour and 45-minute offsets,
/// southern-hemisphere DST, a 30-minute DST, a 2-hour DST, negative DST,
/// DST at midnight, and zones without DST.
const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Chatham",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/Santiago",
    "America/Havana",
    "Asia/Tehran",
    "Africa/Casablanca",
    "Antarctica/Troll",
    "Asia/Gaza",
    "America/Asuncion",
    "Etc/GMT+5",
    "Asia/Tokyo",
];

/// Zone names kube-apiserver or Go reject, and some it accepts that look odd.
const ODD_ZONES: &[&str] = &[
    "",
    "Local",
    "local",
    "europe/berlin",
    "Mars/Olympus",
    "../etc/passwd",
    "America",
    "America/Argentina/Buenos_Aires",
    "US/Eastern",
    "EST5EDT",
    "GMT",
    "Etc/UTC",
    "-UTC",
    "America/Los_Angeles_XX",
    "UTC ",
    "Europe/Berlin/",
    "zone.tab",
];

/// Schedules at the edges of the grammar, run in several zones every time and
/// mixed into the generated ones.
const EDGES: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
    "@every 1h",
    "@every 90m",
    "@every 5",
    "@reboot",
    "@Daily",
    " @daily",
    "@daily ",
    "",
    " ",
    "TZ=UTC 0 0 * * *",
    "CRON_TZ=Europe/Berlin 0 9 * * *",
    "0 0 * * * *",
    "0 0 * *",
    "0 0 31 2 *",
    "0 0 30 2 *",
    "0 0 29 2 *",
    "0 0 31 4,6 *",
    ", * * * *",
    "0\t9 * *  MON-FRI",
    "0 9 * * FR\u{130}",
    "@every 99999999999h",
    "@every 2562047h",
    "@every 2562048h",
    "@every 1.5h",
    "@every .5m",
    "@every 1h1",
    "@every -1m",
    "@every 0",
    "0 9 * * \u{a0}MON",
    "0\u{3000}9 * * *",
    "0 0 * * TZ",
    "0 0 * * 7",
    "0 12 1 1 *",
    "*/90 * * * *",
];

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const BOUNDS: [(u64, u64); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(rng: &mut Rng, field: usize, valid: bool) -> String {
    let (min, max) = BOUNDS[field];
    if !valid {
        return rng
            .pick(&[
                "7", "60", "24", "0", "32", "13", "-1", "99", "L", "W", "x", "1x", "",
            ])
            .to_string();
    }
    let v = min + rng.below(max - min + 1);
    let named = match field {
        3 => rng.chance(30).then(|| MONTHS[(v - 1) as usize]),
        4 => rng.chance(30).then(|| DAYS[v as usize]),
        _ => None,
    };
    match named {
        Some(name) => match rng.below(3) {
            0 => name.to_uppercase(),
            1 => name.to_owned(),
            _ => format!("{}{}", name[..1].to_uppercase(), &name[1..]),
        },
        None if rng.chance(3) => format!("0{v}"),
        None => v.to_string(),
    }
}

fn range_expr(rng: &mut Rng, field: usize) -> String {
    let valid = !rng.chance(4);
    let (min, max) = BOUNDS[field];
    let step = |rng: &mut Rng| {
        if rng.chance(5) {
            rng.pick(&["0", "-1", "+2", "x", ""]).to_string()
        } else {
            let span = if rng.chance(10) {
                100
            } else {
                (max - min).max(1)
            };
            (1 + rng.below(span)).to_string()
        }
    };
    match rng.below(12) {
        0 | 1 => "*".into(),
        2 => "?".into(),
        3 => format!("*/{}", step(rng)),
        4 | 5 => value(rng, field, valid),
        6 => format!("{}/{}", value(rng, field, valid), step(rng)),
        7 | 8 => {
            let a = value(rng, field, valid);
            let b = value(rng, field, valid);
            format!("{a}-{b}")
        }
        9 => format!(
            "{}-{}/{}",
            value(rng, field, valid),
            value(rng, field, valid),
            step(rng)
        ),
        10 => rng
            .pick(&[
                "*-5", "?/2", "+1", "1-2-3", "1/2/3", "5#2", "15W", "L", "*/1", "1-1", "MONDAY",
            ])
            .to_string(),
        _ => {
            let a = value(rng, field, true);
            let b = value(rng, field, valid);
            let sep = if rng.chance(5) { ",," } else { "," };
            format!("{a}{sep}{b}")
        }
    }
}

fn schedule(rng: &mut Rng) -> String {
    match rng.below(40) {
        0 => rng.pick(EDGES).to_string(),
        1 => {
            // Common shapes with the wall times most affected by DST.
            let minute = rng.pick(&["0", "30", "15", "45", "*/15", "*", "*/5"]);
            let hour = rng.pick(&["0", "1", "2", "3", "23", "1-3", "*", "*/2", "0,1,2,3"]);
            format!("{minute} {hour} * * *")
        }
        _ => {
            let fields: Vec<String> = (0..5)
                .map(|f| {
                    if rng.chance(55) {
                        return if rng.chance(85) {
                            "*".into()
                        } else {
                            "?".into()
                        };
                    }
                    let most = if rng.chance(20) { 3 } else { 1 };
                    let parts = 1 + rng.below(most);
                    (0..parts)
                        .map(|_| range_expr(rng, f))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect();
            fields.join(" ")
        }
    }
}

/// Start instants: around the zone's transitions, month and year ends, leap
/// days, and anywhere in 2000-2040.
fn start(rng: &mut Rng, zone: &str) -> i64 {
    let base = 946_684_800 + rng.below(40 * 365 * 86_400) as i64;
    let jitter = |rng: &mut Rng| rng.below(6 * 3_600) as i64 - 3 * 3_600;
    match rng.below(4) {
        0 | 1 => {
            if let Ok(tz) = jiff::tz::TimeZone::get(zone) {
                let from = Timestamp::from_second(base).unwrap();
                if let Some(t) = tz.following(from).next() {
                    return t.timestamp().as_second() + jitter(rng);
                }
            }
            base
        }
        2 => {
            let year = 2000 + rng.below(40) as i16;
            let month = 1 + rng.below(12) as i8;
            let day = jiff::civil::date(year, month, 1).last_of_month().day();
            let dt = jiff::civil::date(year, month, day).at(23, 0, 0, 0);
            dt.to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp()
                .as_second()
                + jitter(rng)
        }
        _ => base,
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    accepted: bool,
    error: Option<String>,
    runs: Vec<i64>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn build_oracle() -> PathBuf {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("robfig-oracle");
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(workspace_root().join("tools/robfig-oracle"))
        .status()
        .expect("the Go toolchain is needed to build the robfig oracle");
    assert!(status.success(), "building tools/robfig-oracle failed");
    out
}

struct Case {
    schedule: String,
    zone: String,
    from: i64,
    count: usize,
    /// An expansion of `H` (a spread schedule): Kubernetes must accept it.
    spread: bool,
}

/// Spread schedules (`H`); each is expanded for many CronJob names.
const SPREAD: &[&str] = &[
    "H * * * *",
    "H H * * *",
    "H/15 * * * *",
    "H/7 H/5 * * *",
    "H(0-29) H(8-17) * * MON-FRI",
    "H(10-40)/10 H(0-3)/2 1 * *",
    "H(0-10)/30 */2 * * *",
    "H,H H * * SUN",
    "H(59-59) H(23-23) 31 12 *",
];

fn cases() -> Vec<Case> {
    let mut rng = Rng(0x5EED_CAFE);
    let mut cases = Vec::new();
    for _ in 0..6_000 {
        let zone = if rng.chance(4) {
            *rng.pick(ODD_ZONES)
        } else {
            *rng.pick(ZONES)
        };
        cases.push(Case {
            schedule: schedule(&mut rng),
            zone: zone.to_owned(),
            from: start(&mut rng, zone),
            count: 1 + rng.below(8) as usize,
            spread: false,
        });
    }
    for edge in EDGES {
        for zone in [
            "UTC",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kathmandu",
        ] {
            for from in [1_735_689_600, 1_741_478_400, 1_762_041_600] {
                cases.push(Case {
                    schedule: (*edge).into(),
                    zone: zone.into(),
                    from,
                    count: 5,
                    spread: false,
                });
            }
        }
    }
    // Every zone sees the DST-sensitive daily times through a whole year.
    for zone in ZONES {
        for expr in [
            "30 2 * * *",
            "30 1 * * *",
            "0 0 * * *",
            "*/30 * * * *",
            "0 * * * *",
        ] {
            cases.push(Case {
                schedule: expr.into(),
                zone: (*zone).into(),
                from: 1_735_689_600,
                count: 400,
                spread: false,
            });
        }
    }
    for template in SPREAD {
        for i in 0..40 {
            let zone = *rng.pick(ZONES);
            cases.push(Case {
                schedule: hks_schedule::spread::expand(template, &format!("shop/job-{i}"))
                    .unwrap_or_else(|p| panic!("{template}: {p:?}")),
                zone: zone.to_owned(),
                from: start(&mut rng, zone),
                count: 5,
                spread: true,
            });
        }
    }
    cases
}

#[test]
fn agrees_with_robfig_on_generated_cases() {
    let oracle = build_oracle();
    let cases = cases();
    let mut child = Command::new(oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the oracle");
    let mut stdin = child.stdin.take().expect("stdin");
    let requests: Vec<String> = cases
        .iter()
        .map(|c| {
            serde_json::json!({"schedule": c.schedule, "timeZone": c.zone, "from": c.from, "count": c.count})
                .to_string()
        })
        .collect();
    let writer = std::thread::spawn(move || {
        for r in requests {
            writeln!(stdin, "{r}").expect("write to the oracle");
        }
    });
    let answers: Vec<Answer> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map(|l| serde_json::from_str(&l.expect("read the oracle")).expect("oracle JSON"))
        .collect();
    writer.join().expect("writer");
    assert!(child.wait().expect("oracle exit").success());
    assert_eq!(answers.len(), cases.len(), "one answer per case");

    let mut disagreements = Vec::new();
    let mut refused: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let (mut accepted, mut rejected, mut runs_compared) = (0, 0, 0);
    for (case, answer) in cases.iter().zip(&answers) {
        let label = format!("{:?} in {:?} from {}", case.schedule, case.zone, case.from);
        if case.spread && check(&case.schedule, &case.zone).is_err() {
            disagreements.push(format!("{label}: an expansion of H that HKS refuses"));
        }
        if case.spread && !answer.accepted {
            disagreements.push(format!(
                "{label}: an expansion of H that Kubernetes rejects ({:?})",
                answer.error
            ));
        }
        match check(&case.schedule, &case.zone) {
            Err(problems) if problems.iter().all(|p| p.kubernetes_accepts) => {
                if !answer.accepted {
                    disagreements.push(format!("{label}: HKS calls it a quirk Kubernetes accepts, but it rejects it ({:?})", answer.error));
                }
                refused
                    .entry(problems[0].code.as_str())
                    .or_default()
                    .push(case.schedule.clone());
            }
            Err(problems) => {
                rejected += 1;
                if answer.accepted {
                    disagreements.push(format!(
                        "{label}: HKS rejects ({}), Kubernetes accepts",
                        problems[0].message
                    ));
                }
            }
            Ok(schedule) => {
                accepted += 1;
                if !answer.accepted {
                    disagreements.push(format!(
                        "{label}: HKS accepts, Kubernetes rejects ({:?})",
                        answer.error
                    ));
                    continue;
                }
                let ours: Vec<i64> = schedule
                    .fire_times(Timestamp::from_second(case.from).unwrap())
                    .take(case.count)
                    .map(|t| t.as_second())
                    .collect();
                runs_compared += answer.runs.len();
                if ours != answer.runs {
                    disagreements.push(format!(
                        "{label}: runs differ\n  hks:    {ours:?}\n  robfig: {:?}",
                        answer.runs
                    ));
                }
            }
        }
    }

    eprintln!(
        "{} cases: {accepted} accepted by both, {rejected} rejected by both, {runs_compared} fire times compared",
        cases.len()
    );
    eprintln!("Quirks Kubernetes accepts and HKS refuses on purpose:");
    for (code, examples) in &refused {
        let mut shown: Vec<&String> = examples.iter().collect();
        shown.dedup();
        shown.truncate(4);
        eprintln!("  {code}: {} cases, e.g. {shown:?}", examples.len());
    }
    assert!(
        accepted > 1_500 && rejected > 500,
        "the generator covers both sides"
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements with robfig:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
