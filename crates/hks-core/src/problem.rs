//! Validation problems: what is wrong, where (a field path such as
//! `spec.env[2].name`), and how to fix it.

use serde::Serialize;
use utoipa::ToSchema;

/// One thing wrong with the input, tied to the field that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Path of the offending field, for example `spec.env[2].name`.
    pub field: String,
    /// Stable machine-readable code, for example `invalid_env_name`.
    pub code: String,
    /// What is wrong, for people.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Every problem found in one input. Validation reports them all at once so
/// that a form can mark each field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the input has {} problem(s)", .problems.len())]
pub struct Invalid {
    pub problems: Vec<Problem>,
}

impl Invalid {
    /// One problem on its own.
    pub fn one(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                field: field.into(),
                code: code.into(),
                message: message.into(),
                hint: None,
            }],
        }
    }

    /// Same, with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        if let Some(last) = self.problems.last_mut() {
            last.hint = Some(hint.into());
        }
        self
    }
}

/// Collects problems while walking an input; field paths are built with
/// [`Problems::at`].
#[derive(Debug, Default)]
pub struct Problems {
    problems: Vec<Problem>,
}

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem at `field`.
    pub fn push(
        &mut self,
        field: impl Into<String>,
        code: &str,
        message: impl Into<String>,
        hint: Option<&str>,
    ) {
        self.problems.push(Problem {
            field: field.into(),
            code: code.into(),
            message: message.into(),
            hint: hint.map(str::to_owned),
        });
    }

    /// Adds problems found by another check.
    pub fn extend(&mut self, other: Invalid) {
        self.problems.extend(other.problems);
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// `Ok(())` when nothing was found.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Invalid {
                problems: self.problems,
            })
        }
    }
}

/// Joins a parent path and a child field: `at("spec", "env")` is `spec.env`.
pub fn at(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// Indexes a list field: `index("spec.env", 2)` is `spec.env[2]`.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}
