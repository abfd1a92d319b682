//! The action's typed configuration, and the redrive it asks for once its
//! values are known.

use crate::diag::Path;
use crate::model::Attr;

crate::model! {
    pub struct RedriveConfig {
        pipeline: Attr<String>,
        source_arn: Attr<String>,
        destination_arn: Attr<String>,
        max_messages_per_second: Attr<f64>,
    }
}

impl RedriveConfig {
    /// The redrive asked for; None while a value it needs is unknown (an
    /// action triggered by a resource whose attributes come at apply).
    pub(super) fn redrive(&self) -> Option<Redrive> {
        if self.pipeline.is_unknown()
            || self.source_arn.is_unknown()
            || self.destination_arn.is_unknown()
            || self.max_messages_per_second.is_unknown()
        {
            return None;
        }
        let source = match (self.pipeline.owned(), self.source_arn.owned()) {
            (Some(name), None) => Source::Pipeline(name),
            (None, Some(arn)) => Source::Queue(arn),
            _ => return None,
        };
        Some(Redrive {
            source,
            destination_arn: self.destination_arn.owned(),
            rate: self.max_messages_per_second.int().and_then(|r| i32::try_from(r).ok()),
        })
    }
}

/// Which dead-letter queue.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Source {
    /// A pipeline's, by the pipeline's name.
    Pipeline(String),
    /// Any queue, by ARN.
    Queue(String),
}

impl Source {
    /// The attribute that names it, for diagnostics.
    pub(super) fn path(&self) -> Path {
        match self {
            Source::Pipeline(_) => Path::attr("pipeline"),
            Source::Queue(_) => Path::attr("source_arn"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Redrive {
    pub source: Source,
    pub destination_arn: Option<String>,
    pub rate: Option<i32>,
}
