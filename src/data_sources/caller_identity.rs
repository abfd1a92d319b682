//! `privatelink_caller_identity`: who the provider is acting as. Proves the
//! credential chain, role assumption and endpoint overrides end to end.

use crate::aws::call_failed;
use crate::ctx::Ctx;
use crate::diag::Diagnostics;
use crate::schema::{attr, Block, Mode, Schema, Type};
use crate::value::Value;

use super::DataSource;

pub struct CallerIdentity;

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
        let sts = ctx.aws.sts.clone();
        let out = ctx
            .run("asking STS who the caller is", async move {
                sts.get_caller_identity().send().await.map_err(|e| call_failed("caller identity", "sts:GetCallerIdentity", &e))
            })
            .await?;
        tracing::debug!(account = out.account().unwrap_or(""), "caller identity read");
        Ok(Value::object([
            ("id", Value::opt_string(out.account())),
            ("account_id", Value::opt_string(out.account())),
            ("arn", Value::opt_string(out.arn())),
            ("user_id", Value::opt_string(out.user_id())),
            ("region", Value::string(ctx.aws.region.clone())),
        ]))
    }
}
