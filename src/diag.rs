//! Diagnostics: what the user sees, with the attribute path that Terraform
//! underlines in the configuration.

use std::fmt;

use crate::proto::tfplugin6 as pb;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Attr(String),
    Key(String),
    Index(i64),
}

/// A path into a config value, e.g. `assume_role[0].role_arn` is
/// `[Attr("assume_role"), Index(0), Attr("role_arn")]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Step>);

impl Path {
    pub fn root() -> Path {
        Path(Vec::new())
    }
    pub fn attr(name: &str) -> Path {
        Path(vec![Step::Attr(name.to_string())])
    }
    pub fn then(&self, name: &str) -> Path {
        let mut p = self.clone();
        p.0.push(Step::Attr(name.to_string()));
        p
    }
    pub fn index(&self, i: usize) -> Path {
        let mut p = self.clone();
        p.0.push(Step::Index(i as i64));
        p
    }
    pub fn key(&self, k: &str) -> Path {
        let mut p = self.clone();
        p.0.push(Step::Key(k.to_string()));
        p
    }
    /// The path without its last step (the block an attribute is in).
    pub fn parent(&self) -> Path {
        let mut p = self.clone();
        p.0.pop();
        p
    }
    /// The name of the last attribute on the path.
    pub fn last_attr(&self) -> Option<String> {
        self.0.iter().rev().find_map(|s| match s {
            Step::Attr(a) => Some(a.clone()),
            _ => None,
        })
    }
    pub fn to_proto(&self) -> pb::AttributePath {
        use pb::attribute_path::step::Selector;
        pb::AttributePath {
            steps: self
                .0
                .iter()
                .map(|s| pb::attribute_path::Step {
                    selector: Some(match s {
                        Step::Attr(a) => Selector::AttributeName(a.clone()),
                        Step::Key(k) => Selector::ElementKeyString(k.clone()),
                        Step::Index(i) => Selector::ElementKeyInt(*i),
                    }),
                })
                .collect(),
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Step::Attr(a) if i == 0 => write!(f, "{a}")?,
                Step::Attr(a) => write!(f, ".{a}")?,
                Step::Key(k) => write!(f, "[{k:?}]")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub path: Option<Path>,
    /// AWS's error code, when this reports AWS refusing a call
    /// (`aws::call_failed` sets it), so callers decide on the code, not on
    /// the wording of `detail`.
    pub aws_code: Option<String>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Error, summary: summary.into(), detail: detail.into(), path: None, aws_code: None }
    }
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, summary: summary.into(), detail: detail.into(), path: None, aws_code: None }
    }
    pub fn at(mut self, path: Path) -> Diagnostic {
        self.path = Some(path);
        self
    }
    pub fn to_proto(&self) -> pb::Diagnostic {
        pb::Diagnostic {
            severity: match self.severity {
                Severity::Error => pb::diagnostic::Severity::Error,
                Severity::Warning => pb::diagnostic::Severity::Warning,
            } as i32,
            summary: self.summary.clone(),
            detail: self.detail.clone(),
            attribute: self.path.as_ref().map(Path::to_proto),
        }
    }
}

/// The diagnostics of one call, in order.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics(iter.into_iter().collect())
    }
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    pub fn to_proto(&self) -> Vec<pb::Diagnostic> {
        self.0.iter().map(Diagnostic::to_proto).collect()
    }
    /// The first diagnostic's summary (empty when there is none), for a
    /// log line.
    pub fn first_summary(&self) -> String {
        self.0.first().map(|d| d.summary.clone()).unwrap_or_default()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_displays_like_hcl() {
        let p = Path::attr("assume_role").index(0).then("role_arn");
        assert_eq!(p.to_string(), "assume_role[0].role_arn");
        assert_eq!(Path::attr("tags").key("team").to_string(), "tags[\"team\"]");
    }

    #[test]
    fn first_summary_is_the_first_diagnostics() {
        assert_eq!(Diagnostics::default().first_summary(), "");
        let d: Diagnostics = [Diagnostic::warning("careful", ""), Diagnostic::error("failed", "")].into_iter().collect();
        assert_eq!(d.first_summary(), "careful");
    }
}
