//! The function block as a refresh and an import see it.

use crate::model::{Map, Set, Val};
use crate::parts::function::Function;
use crate::parts::queue::Queue;

use super::{CodeSource, FunctionBlock, FunctionRole, DEFAULT_QUEUE_URL_VAR, SOURCE_TAG};

/// A function block with the function's settings as Lambda has them; the
/// queue URL a composite sets in the environment (`queue_var`) is not the
/// user's.
pub fn observed(b: &mut FunctionBlock, f: &Function, queue_var: Option<&str>) {
    b.handler.set_known(f.handler.clone());
    b.runtime.set_known(f.runtime.clone());
    b.memory_size.set_known(f.memory_size as f64);
    b.timeout.set_known(f.timeout as f64);
    let mut env = f.environment.clone();
    if let Some(var) = queue_var {
        env.remove(var);
    }
    let keep_null = env.is_empty() && b.environment.is_null();
    b.environment.set(if keep_null { Val::Null } else { Val::Known(Map::of(&env)) });
}

/// What an import of a producer knows besides the function: its queue and
/// the group the composite made for it.
#[derive(Clone, Copy, Default)]
pub struct ProducerFound<'a> {
    pub queue: Option<&'a Queue>,
    pub group: Option<&'a str>,
}

/// A function block as an import sees it: where the code came from (the
/// source tag), the role when it is not the composite's own, and for a
/// producer the queue URL variable and the groups the user added.
pub fn imported(f: &Function, role: FunctionRole, producer: ProducerFound<'_>) -> FunctionBlock {
    let mut b = FunctionBlock::default();
    match f.tags.get(SOURCE_TAG).and_then(|t| CodeSource::from_tag(t)) {
        Some(CodeSource::Dir(d)) => b.source_dir.set_known(d.display().to_string()),
        Some(CodeSource::File(p)) => b.filename.set_known(p.display().to_string()),
        None => {}
    }
    let own_role = f.role_arn.ends_with(&format!(":role/{}", f.name));
    b.role_arn.set(if own_role { Val::Null } else { Val::Known(f.role_arn.clone()) });
    // Unknown: the read that completes the import looks at the role
    // (`role_extras::observe`).
    if own_role {
        b.policy_statements.set(Val::Unknown);
        b.policy_arns.set(Val::Unknown);
    }
    match role {
        FunctionRole::Producer => {
            let var = producer.queue.and_then(|q| f.environment.iter().find(|(_, v)| **v == q.url).map(|(k, _)| k.clone()));
            b.queue_url_env_var.set_known(var.unwrap_or_else(|| DEFAULT_QUEUE_URL_VAR.into()));
            let extra: Vec<String> = f.security_group_ids.iter().filter(|g| Some(g.as_str()) != producer.group).cloned().collect();
            b.security_group_ids.set(if extra.is_empty() { Val::Null } else { Val::Known(Set::of(&extra)) });
        }
        FunctionRole::Consumer => b.in_vpc.set_known(!f.subnet_ids.is_empty()),
    }
    b
}
