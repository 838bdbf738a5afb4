//! The string formats Kubernetes checks (and a few it only checks later):
//! DNS labels, environment variable names, quantities, image references,
//! label keys and values. Each function returns a reason when the input is
//! not acceptable, worded to be shown to a person.

/// The longest name of a CronJob: the CronJob controller appends an
/// 11-character `-<unix minutes>` suffix to Job names, which become 63-character
/// label values.
pub const MAX_APPLICATION_NAME: usize = 52;

/// A project name becomes part of a namespace (`hks-<tenant id>-<project>`),
/// which must stay within 63 characters.
pub const MAX_PROJECT_NAME: usize = 40;

/// Tenant names are label values and appear in namespaces' labels.
pub const MAX_TENANT_NAME: usize = 40;

/// A lowercase RFC 1123 label that starts with a letter, so that it is also a
/// valid Service name (RFC 1035) and container name.
pub fn dns_label(value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.len() > max {
        return Err(format!(
            "must be at most {max} characters (it has {})",
            value.len()
        ));
    }
    let bytes = value.as_bytes();
    if !bytes[0].is_ascii_lowercase() {
        return Err("must start with a lowercase letter".into());
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    {
        return Err("may contain only lowercase letters, digits and '-'".into());
    }
    if bytes[bytes.len() - 1] == b'-' {
        return Err("must end with a letter or digit".into());
    }
    Ok(())
}

/// A DNS-1123 subdomain (Secret names).
pub fn dns_subdomain(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 253 {
        return Err("must be 1 to 253 characters".into());
    }
    for part in value.split('.') {
        let b = part.as_bytes();
        let ok = !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
        if !ok {
            return Err("must be lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit".into());
        }
    }
    Ok(())
}

/// Environment variable names under the strict rule that every supported
/// Kubernetes version accepts: `[-._a-zA-Z][-._a-zA-Z0-9]*`, not `.` or `..`,
/// not starting with `..`.
pub fn env_name(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    let b = value.as_bytes();
    let first_ok = b[0].is_ascii_alphabetic() || matches!(b[0], b'-' | b'.' | b'_');
    if !first_ok {
        return Err("must start with a letter, '_', '-' or '.'".into());
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
    {
        return Err("may contain only letters, digits, '_', '-' and '.'".into());
    }
    if value == "." || value.starts_with("..") {
        return Err("must not be '.' or start with '..'".into());
    }
    Ok(())
}

/// A Secret key: `[-._a-zA-Z0-9]+`, at most 253 characters.
pub fn secret_key(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 253 {
        return Err("must be 1 to 253 characters".into());
    }
    if !value
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
    {
        return Err("may contain only letters, digits, '_', '-' and '.'".into());
    }
    if value == "." || value == ".." {
        return Err("must not be '.' or '..'".into());
    }
    Ok(())
}

/// Parses a Kubernetes quantity (`[+-]?(\d+(\.\d*)?|\.\d+)` and a suffix:
/// `Ki Mi Gi Ti Pi Ei`, `n u m "" k M G T P E`, or `e[+-]?\d+`) into its
/// approximate value, which is enough to compare requests with limits.
pub fn quantity(value: &str) -> Result<f64, String> {
    const SHAPE: &str = "must be a number with an optional suffix, like 500m, 0.5, 128Mi or 1G";
    let s = value.strip_prefix(['+', '-']).unwrap_or(value);
    let negative = value.starts_with('-');
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(digits_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return Err(SHAPE.into());
    }
    let mantissa: f64 = number.parse().map_err(|_| SHAPE.to_owned())?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        other => {
            let exp = other
                .strip_prefix(['e', 'E'])
                .and_then(|e| {
                    let d = e.strip_prefix(['+', '-']).unwrap_or(e);
                    (!d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
                        .then(|| e.parse::<i32>().ok())?
                })
                .ok_or_else(|| {
                    format!(
                        "has an unknown suffix '{other}'; use one of m, k, M, G, Ki, Mi, Gi, Ti"
                    )
                })?;
            10f64.powi(exp)
        }
    };
    if negative && mantissa != 0.0 {
        return Err("must not be negative".into());
    }
    Ok(mantissa * factor)
}

/// A container image reference as the container runtime parses it:
/// `[host[:port]/]path[:tag][@digest]`, path components lowercase.
pub fn image_reference(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.len() > 1024 {
        return Err("is too long".into());
    }
    if value.trim() != value || value.chars().any(char::is_whitespace) {
        return Err("must not contain spaces".into());
    }
    let (rest, digest) = match value.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (value, None),
    };
    if let Some(d) = digest {
        let (algo, hex) = d
            .split_once(':')
            .ok_or("has a digest without an algorithm, like @sha256:<64 hex digits>")?;
        let ok_algo = !algo.is_empty()
            && algo.bytes().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || matches!(c, b'+' | b'.' | b'_' | b'-')
            });
        let ok_hex = hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit());
        if !ok_algo || !ok_hex {
            return Err("has an invalid digest; expected @sha256:<64 hex digits>".into());
        }
    }
    // The tag is after the last ':' that follows the last '/'.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let b = t.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 128
            && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
        if !ok {
            return Err(format!(
                "has an invalid tag '{t}'; tags are up to 128 letters, digits, '_', '.' and '-'"
            ));
        }
    }
    let mut components: Vec<&str> = name.split('/').collect();
    if components.len() > 1 {
        let first = components[0];
        // A first component with '.', ':' or equal to "localhost" is a registry host.
        if first.contains(['.', ':']) || first == "localhost" {
            let (host, port) = first
                .split_once(':')
                .map_or((first, None), |(h, p)| (h, Some(p)));
            let host_ok = !host.is_empty()
                && host.split('.').all(|l| {
                    !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                });
            let port_ok = port.is_none_or(|p| {
                !p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit())
            });
            if !host_ok || !port_ok {
                return Err(format!("has an invalid registry '{first}'"));
            }
            components.remove(0);
        }
    }
    for c in components {
        if !path_component(c) {
            return Err(format!(
                "has an invalid path component '{c}'; use lowercase letters and digits separated by '.', '_', '__' or '-', for example registry.example.com/team/app:1.2"
            ));
        }
    }
    Ok(())
}

fn path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_lowercase() && !b[0].is_ascii_digit() {
        return false;
    }
    if !(b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit()) {
        return false;
    }
    let mut run = 0;
    for &ch in b {
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            run = 0;
        } else if matches!(ch, b'.' | b'_' | b'-') {
            run += 1;
            // Separators: '.', '_', '__', or any number of '-'.
            if ch != b'-' && run > 2 {
                return false;
            }
        } else {
            return false;
        }
    }
    !c.contains("._") && !c.contains("_.") && !c.contains("..")
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a
/// name of at most 63 characters.
pub fn label_key(value: &str) -> Result<(), String> {
    let (prefix, name) = match value.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, value),
    };
    if let Some(p) = prefix {
        dns_subdomain(p).map_err(|e| format!("has a prefix that {e}"))?;
    }
    label_value(name).and_then(|()| {
        if name.is_empty() {
            Err("must have a name".into())
        } else {
            Ok(())
        }
    })
}

/// A label value: at most 63 characters, alphanumeric at both ends, with
/// `-`, `_` and `.` inside; may be empty.
pub fn label_value(value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err("must be at most 63 characters".into());
    }
    if value.is_empty() {
        return Ok(());
    }
    let b = value.as_bytes();
    let ok = b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(
            "must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(dns_label("nightly-report", 52).is_ok());
        assert!(dns_label("a", 52).is_ok());
        for bad in ["", "Nightly", "1abc", "abc-", "a_b", "a.b", &"a".repeat(53)] {
            assert!(dns_label(bad, 52).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_names() {
        for ok in ["PATH", "_X", "my.var", "-x", "A1"] {
            assert!(env_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "A=B", "A B", ".", "..x", "é"] {
            assert!(env_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity("500m").unwrap(), 0.5);
        assert_eq!(quantity("1").unwrap(), 1.0);
        assert_eq!(quantity("128Mi").unwrap(), 128.0 * 1024.0 * 1024.0);
        assert_eq!(quantity("1e3").unwrap(), 1000.0);
        assert_eq!(quantity(".5").unwrap(), 0.5);
        assert_eq!(quantity("+2").unwrap(), 2.0);
        for bad in ["", "abc", "1.2.3", "12MB", "1mi", "-1", "1e", "."] {
            assert!(quantity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn images() {
        for ok in [
            "busybox",
            "busybox:1.36",
            "library/busybox:latest",
            "registry.example.com:5000/team/app:v1.2-rc_1",
            "localhost/app",
            "ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "my_app__x/y",
        ] {
            assert!(image_reference(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "bus box",
            "a//b",
            "app:-x",
            "app@sha256:xyz",
            "-app",
            "app:tag:tag",
        ] {
            assert!(image_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels() {
        assert!(label_key("team").is_ok());
        assert!(label_key("example.com/team").is_ok());
        assert!(label_key("example.com/").is_err());
        assert!(label_key("Bad Key").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("v1.2").is_ok());
        assert!(label_value("-x").is_err());
        assert!(label_value(&"x".repeat(64)).is_err());
    }
}
