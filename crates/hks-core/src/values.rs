//! Checked string values of a specification: names of applications (and of
//! projects and tenants, which follow the same rule with other lengths),
//! schedules, time zones and image references.
//!
//! Each value type has one rule, used by its `parse` (for values made in
//! code) and by validation (for values read from a request), and publishes
//! that rule in its OpenAPI schema (pattern, lengths, description), so that
//! what the schema allows is what the server accepts, as far as a pattern
//! can say it.
//!
//! **Deserialising does not check.** A value read with serde holds the text
//! as given, valid or not; `spec::validate_application` then reports it
//! together with every other problem of the request, each with its field
//! path and a hint. Checking in `Deserialize` would stop at the first bad
//! value and turn it into serde's one-line message (the API's
//! `invalid_json`), so a form could no longer mark every field at once and
//! the API's error bodies would change. Code that makes a value from text
//! goes through `parse`.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use crate::formats;
use crate::problem::{Code, Invalid};

/// Checks the name of an application, project, tenant or token: a lowercase
/// DNS label of at most `max` characters.
pub fn validate_name(field: &str, name: &str, max: usize) -> Result<(), Invalid> {
    formats::dns_label(name, max).map_err(|reason| {
        Invalid::one(
            field,
            Code::InvalidName,
            format!("'{name}' is not a valid name: it {reason}"),
        )
        .with_hint(
            "use lowercase letters, digits and '-', starting with a letter, like `nightly-report`",
        )
    })
}

/// Checks an image reference.
pub fn validate_image(field: &str, image: &str) -> Result<(), Invalid> {
    formats::image_reference(image).map_err(|reason| {
        Invalid::one(
            field,
            Code::InvalidImage,
            format!("'{image}' is not a valid image reference: it {reason}"),
        )
    })
}

/// The problems of a value on its own: the field is the value itself (empty).
fn bare(mut e: Invalid) -> Invalid {
    for p in &mut e.problems {
        p.field.clear();
    }
    e
}

/// A string schema with the rule of a value type.
fn string_schema(
    description: &str,
    pattern: Option<&str>,
    max_length: Option<usize>,
    example: &str,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(Some(1))
        .max_length(max_length)
        .pattern(pattern)
        .examples([json!(example)])
        .into()
}

/// What every value type has: the text as given, as a `str`.
macro_rules! text_value {
    ($t:ident) => {
        impl $t {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $t {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl utoipa::ToSchema for $t {}
    };
}

/// The name of an application: a lowercase DNS label (RFC 1123, starting
/// with a letter so that it is also a Service and container name) of at most
/// [`formats::MAX_APPLICATION_NAME`] characters. Also what a CronJob's
/// template and called Function are named by.
///
/// Deserialises from any string; see the [module](self) for why.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApplicationName(String);

impl ApplicationName {
    /// The pattern of [`formats::dns_label`], in the OpenAPI document.
    pub const PATTERN: &str = "^[a-z]([-a-z0-9]*[a-z0-9])?$";

    /// The name, when `text` is one.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        Self::check("", text).map(|()| Self(text.to_owned()))
    }

    /// Checks `text` as the name at `field`.
    pub fn check(field: &str, text: &str) -> Result<(), Invalid> {
        validate_name(field, text, formats::MAX_APPLICATION_NAME)
    }
}

text_value!(ApplicationName);

impl utoipa::PartialSchema for ApplicationName {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "The name of an application: lowercase letters, digits and '-', starting with a \
             letter and ending with a letter or digit, at most 52 characters (a CronJob's Jobs \
             add an 11-character suffix to it, and their names must stay within 63).",
            Some(Self::PATTERN),
            Some(formats::MAX_APPLICATION_NAME),
            "nightly-report",
        )
    }
}

/// A CronJob's schedule as Kubernetes reads it: five fields or an `@`
/// descriptor, checked by `hks-schedule` (which also refuses the quirks
/// Kubernetes accepts but that never do what was meant).
///
/// Deserialises from any string; see the [module](self) for why.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Schedule(String);

impl Schedule {
    /// The schedule, when `text` is one.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        crate::schedule::check_schedule(text)
            .map(|()| Self(text.to_owned()))
            .map_err(bare)
    }
}

text_value!(Schedule);

impl utoipa::PartialSchema for Schedule {
    fn schema() -> RefOr<Schema> {
        // No pattern: the rules (ranges per field, steps, names of months
        // and days, dates that never come) are more than a pattern can say
        // exactly, and a pattern stricter than the server would refuse good
        // schedules in clients that check it.
        string_schema(
            "A Kubernetes CronJob schedule: five fields (minute hour day-of-month month \
             day-of-week), like `0 3 * * *` or `*/15 9-17 * * MON-FRI`, or a descriptor: \
             `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. \
             Refused although Kubernetes accepts them, because they do not do what they seem \
             to: `@every`, ranges starting with `*` (`*-5`), signed numbers, empty list \
             elements, steps that select a single value, dates that never come (30 February) \
             and a `TZ=` or `CRON_TZ=` prefix (the time zone is `timeZone`). `H` in the \
             minute or hour field (`H`, `H(a-b)`, `H/n`, `H(a-b)/n`) is a value HKS chooses \
             from the project and the CronJob's name, to spread CronJobs over the hour or day: \
             Kubernetes gets the plain expression (`expandedSchedule`). Use \
             `/api/v1/schedules/preview` to check one and see its next runs.",
            None,
            None,
            "0 3 * * *",
        )
    }
}

/// The IANA time zone a schedule is read in, from the server's time zone
/// database.
///
/// Deserialises from any string; see the [module](self) for why.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeZone(String);

impl TimeZone {
    /// kube-apiserver's syntax for a zone name: parts of 1 to 14 letters,
    /// digits, `.`, `_`, `+` and `-`, not starting with `-`, not `.` or
    /// `..`, separated by `/`. Whether the zone exists (and that it is not
    /// `Local`) a pattern cannot say.
    pub const PATTERN: &str = "^(?:[A-Za-z0-9_+][A-Za-z0-9._+-]{0,13}|\\.[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,12}|\\.\\.[A-Za-z0-9._+-]{1,12})(?:/(?:[A-Za-z0-9_+][A-Za-z0-9._+-]{0,13}|\\.[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,12}|\\.\\.[A-Za-z0-9._+-]{1,12}))*$";

    /// UTC, the zone of a CronJob that names none.
    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    /// The zone, when `text` is one the time zone database has.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        crate::schedule::check_time_zone(text)
            .map(|()| Self(text.to_owned()))
            .map_err(bare)
    }
}

text_value!(TimeZone);

impl utoipa::PartialSchema for TimeZone {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "An IANA time zone name from the server's time zone database, like `Europe/Berlin`, \
             `America/New_York` or `UTC`, spelt with the database's capitals. `Local` is \
             refused: it would be the zone of whichever machine runs the CronJob controller.",
            Some(Self::PATTERN),
            None,
            "Europe/Berlin",
        )
    }
}

/// A container image reference as the container runtime parses it:
/// `[host[:port]/]path[:tag][@digest]`, path components lowercase.
///
/// Deserialises from any string; see the [module](self) for why.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Image(String);

/// The parts of [`Image::PATTERN`], each the rule of [`formats::image_reference`].
macro_rules! image_pattern {
    () => {
        concat!(
            "^(?:",
            // Several components: the first is a registry (a host with a
            // '.' or a port, or `localhost`) ...
            "(?:[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*:[0-9]{1,5}|[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)+|localhost",
            // ... or a path component without a '.' (with one, it would be
            // read as a registry).
            "|[a-z0-9]+(?:(?:[_-]|(?:__|[_-]-|-_)-*)[a-z0-9]+)*)",
            // Then path components: lowercase letters and digits, separated
            // by '.', '_', '__' or dashes (as formats::image_reference
            // counts separators).
            "(?:/[a-z0-9]+(?:(?:[._-]|(?:__|[._-]-|-[._])-*)[a-z0-9]+)*)+",
            // Or a single path component.
            "|[a-z0-9]+(?:(?:[._-]|(?:__|[._-]-|-[._])-*)[a-z0-9]+)*",
            ")",
            // A tag.
            "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?",
            // A digest.
            "(?:@[a-z0-9+._-]+:[0-9A-Fa-f]{32,})?",
            "$"
        )
    };
}

impl Image {
    /// The rule of [`formats::image_reference`] as a pattern.
    pub const PATTERN: &str = image_pattern!();
    /// The longest reference.
    pub const MAX_LENGTH: usize = 1024;

    /// The reference, when `text` is one.
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        validate_image("", text).map(|()| Self(text.to_owned()))
    }
}

text_value!(Image);

impl utoipa::PartialSchema for Image {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "A container image reference: `[registry/]path[:tag][@digest]`, like `busybox:1.36` \
             or `ghcr.io/acme/web:1.4`. Path components are lowercase letters and digits \
             separated by `.`, `_`, `__` or dashes; a registry has a `.` or a port, or is \
             `localhost`; a tag is up to 128 letters, digits, `_`, `.` and `-`; a digest is \
             `@sha256:` and its hex digits.",
            Some(Self::PATTERN),
            Some(Self::MAX_LENGTH),
            "ghcr.io/acme/web:1.4",
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use regex::Regex;

    use super::*;

    /// Every string over `alphabet` of at most `max_len` characters.
    pub(crate) fn strings(alphabet: &[char], max_len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max_len {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    /// The pattern accepts exactly what `valid` accepts, on `inputs`.
    fn agree(pattern: &str, valid: impl Fn(&str) -> bool, inputs: &[String]) {
        let re = Regex::new(pattern).unwrap();
        for s in inputs {
            assert_eq!(re.is_match(s), valid(s), "{s:?} against {pattern}");
        }
    }

    #[test]
    fn parse_checks_and_keeps_the_text() {
        assert_eq!(ApplicationName::parse("nightly").unwrap(), "nightly");
        assert_eq!(Schedule::parse("0 3 * * *").unwrap().as_str(), "0 3 * * *");
        assert_eq!(TimeZone::parse("Europe/Berlin").unwrap(), "Europe/Berlin");
        assert_eq!(
            Image::parse("busybox:1.36").unwrap().to_string(),
            "busybox:1.36"
        );
        assert_eq!(TimeZone::utc(), TimeZone::parse("UTC").unwrap());

        let codes = |e: Invalid| -> Vec<(String, Code)> {
            e.problems.into_iter().map(|p| (p.field, p.code)).collect()
        };
        assert_eq!(
            codes(ApplicationName::parse("Nightly").unwrap_err()),
            [(String::new(), Code::InvalidName)]
        );
        assert_eq!(
            codes(Schedule::parse("0 3 * *").unwrap_err()),
            [(String::new(), Code::FieldCount)]
        );
        assert_eq!(
            codes(TimeZone::parse("Mars/Olympus").unwrap_err()),
            [(String::new(), Code::TimeZoneUnknown)]
        );
        assert_eq!(
            codes(Image::parse("Busybox").unwrap_err()),
            [(String::new(), Code::InvalidImage)]
        );
    }

    /// Any string deserialises, so that validation can report it with the
    /// request's other problems; serialising gives the text back.
    #[test]
    fn deserialising_keeps_any_text() {
        let name: ApplicationName = serde_json::from_value(json!("Not A Name")).unwrap();
        assert_eq!(name, "Not A Name");
        assert_eq!(serde_json::to_value(&name).unwrap(), json!("Not A Name"));
        assert!(serde_json::from_value::<Schedule>(json!(5)).is_err());
    }

    #[test]
    fn the_name_pattern_is_the_rule() {
        let inputs = strings(&['a', 'z', '0', '-', 'A', '_', '.'], 5);
        agree(
            ApplicationName::PATTERN,
            |s| formats::dns_label(s, usize::MAX).is_ok(),
            &inputs,
        );
    }

    #[test]
    fn the_time_zone_pattern_is_the_syntax_rule() {
        let mut inputs = strings(&['a', 'Z', '0', '.', '_', '+', '-', '/', ' '], 4);
        inputs.extend([
            "a".repeat(14),
            "a".repeat(15),
            format!("..{}", "a".repeat(12)),
        ]);
        inputs.extend(
            [
                "Europe/Berlin",
                "America/Argentina/Buenos_Aires",
                "Etc/GMT+5",
            ]
            .map(String::from),
        );
        // The syntax alone: `Local` and zones the database does not have
        // are refused for other reasons, which the description states.
        let syntax_ok = |s: &str| {
            !s.is_empty()
                && s.split('/').all(|part| {
                    (1..=14).contains(&part.len())
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
                        && part != "."
                        && part != ".."
                        && !part.starts_with('-')
                })
        };
        agree(TimeZone::PATTERN, syntax_ok, &inputs);
        // The syntax above is the engine's: what it refuses as syntax, the
        // pattern refuses.
        for s in &inputs {
            if let Err(e) = TimeZone::parse(s)
                && e.problems[0].code == Code::TimeZoneSyntax
            {
                assert!(!syntax_ok(s), "{s:?}");
            }
        }
    }

    #[test]
    fn the_image_pattern_is_the_rule() {
        let mut inputs = strings(&['a', '0', 'A', '.', '_', '-', ':', '/', '@'], 5);
        let hex = "0123456789abcdef".repeat(4);
        for s in [
            "busybox",
            "busybox:1.36",
            "library/busybox:latest",
            "registry.example.com:5000/team/app:v1.2-rc_1",
            "localhost/app",
            "localhost:5000/app",
            "localhost:5000",
            "Registry.Example.com/app",
            "reg-1/app",
            "a_b.c/app",
            "a-.b/app",
            "a.b:/app",
            "a.b:123456/app",
            "my_app__x/y",
            "a__b",
            "a___b",
            "a_-b",
            "a_--b",
            "a-_b",
            "a--_b",
            "a.-b",
            "a-.b",
            "a--.b",
            "a-._b",
            "a..b",
            "a._b",
            "app:tag:tag",
            "app:-x",
            "app:_x",
        ] {
            inputs.push(s.to_owned());
        }
        for base in ["app", "ghcr.io/org/app:1", "app:1"] {
            inputs.push(format!("{base}@sha256:{hex}"));
            inputs.push(format!("{base}@sha256:{}", &hex[..31]));
            inputs.push(format!("{base}@SHA256:{hex}"));
            inputs.push(format!("{base}@:{hex}"));
            inputs.push(format!("{base}@sha256:{hex}@x"));
        }
        inputs.push(format!("app:{}", "t".repeat(128)));
        inputs.push(format!("app:{}", "t".repeat(129)));
        agree(
            Image::PATTERN,
            |s| formats::image_reference(s).is_ok(),
            &inputs,
        );
    }
}
