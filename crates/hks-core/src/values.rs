//! Checked string values of a specification: names of applications (and
//! of projects and tenants, which follow the same rule with other lengths).

use crate::formats;
use crate::problem::{Code, Invalid};

/// Checks the name of an application.
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
