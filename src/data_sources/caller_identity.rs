//! `privatelink_caller_identity`: who the provider is acting as. Proves the
//! credential chain, role assumption and endpoint overrides end to end.

use crate::ctx::Ctx;
use crate::diag::Diagnostics;
use crate::model::{Attr, Model, Val};
use crate::parts::caller;
use crate::schema::{attr, Block, Mode, Schema, Type};
use crate::value::Value;

use super::DataSource;

pub struct CallerIdentity;

crate::model! {
    /// The data source's state.
    pub struct CallerIdentityState {
        id: Attr<String>,
        account_id: Attr<String>,
        arn: Attr<String>,
        user_id: Attr<String>,
        region: Attr<String>,
    }
}

#[tonic::async_trait]
impl DataSource for CallerIdentity {
    fn type_name(&self) -> &'static str {
        "privatelink_caller_identity"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("The AWS account, identity and region the provider acts as (STS GetCallerIdentity).")
                .attr(attr("id", Type::String, Mode::Computed, "The account id."))
                .attr(attr("account_id", Type::String, Mode::Computed, "AWS account id."))
                .attr(attr("arn", Type::String, Mode::Computed, "ARN of the calling identity (user, role session)."))
                .attr(attr("user_id", Type::String, Mode::Computed, "Unique id of the calling identity."))
                .attr(attr("region", Type::String, Mode::Computed, "Region the provider is configured for.")),
        )
    }

    async fn read(&self, ctx: &Ctx, _config: &Value) -> Result<Value, Diagnostics> {
        let found = ctx.run("asking STS who the caller is", caller::find(&ctx.aws.sts)).await?;
        tracing::debug!(account = found.account.as_deref().unwrap_or(""), "caller identity read");
        let mut s = CallerIdentityState::default();
        s.id.set(Val::from_option(found.account.clone()));
        s.account_id.set(Val::from_option(found.account));
        s.arn.set(Val::from_option(found.arn));
        s.user_id.set(Val::from_option(found.user_id));
        s.region.set_known(ctx.aws.region.clone());
        Ok(s.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_model_names_the_schemas_attributes() {
        let s = CallerIdentity.schema();
        assert_eq!(crate::model::attribute_mismatch::<CallerIdentityState>(&s.block), Vec::<String>::new());
    }
}
