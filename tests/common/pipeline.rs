//! The test bed of the pipeline's gRPC modules: a pipeline named `orders`
//! driven over gRPC against moto behind the AWS rules, with SDK clients
//! through the same rules (so a change made by hand is seen as AWS would
//! see it), in the network scripts/network.py makes. Each module adds its
//! own helpers in an `impl Bed` of its own, named for what it checks.

use rmpv::Value as V;

use super::driver::Driver;
use super::moto::Moto;
use super::plugin::Plugin;
use super::{list_var, obj, s, var};

pub const TYPE: &str = "privatelink_private_lambda_pipeline";

pub struct Bed {
    pub moto: Moto,
    _plugin: Plugin,
    pub tf: Driver,
    pub aws: privatelink::aws::Aws,
    pub vpc: String,
    pub subnets: Vec<String>,
}

impl Bed {
    /// A fresh emulator, its network, and the provider with `default_tags`.
    pub async fn start(default_tags: &[(&str, &str)]) -> Bed {
        let moto = Moto::start();
        let net = super::network(&moto.url());
        let plugin = Plugin::start(&[]);
        let tf = Driver::new(&plugin, TYPE, &moto.url(), default_tags).await;
        let aws = super::aws(&moto.url()).await;
        Bed { vpc: var(&net, "vpc_id").into(), subnets: list_var(&net, "subnet_ids"), moto, _plugin: plugin, tf, aws }
    }

    /// The pipeline `orders` in the bed's subnets with these `producer`
    /// and `consumer` blocks and the `extra` top-level attributes.
    pub fn orders(&self, producer: V, consumer: V, extra: Vec<(&str, V)>) -> V {
        let mut fields = vec![
            ("name", s("orders")),
            ("vpc_id", s(&self.vpc)),
            ("subnet_ids", V::Array(self.subnets.iter().map(|x| s(x)).collect())),
            ("producer", producer),
            ("consumer", consumer),
        ];
        fields.extend(extra);
        obj(fields)
    }

    /// Plan and apply `config` from `prior`, in place (no replacement),
    /// with no error: the new state.
    pub async fn plan_apply(&mut self, prior: &V, config: &V) -> V {
        self.tf.plan_apply_in_place(prior, config).await
    }

    /// Refresh, then the same configuration plans no change: the refreshed state.
    pub async fn converged(&mut self, state: &V, config: &V) -> V {
        self.tf.converged(state, config).await
    }

    /// The inline policy the pipeline wrote for role `name`.
    pub async fn role_policy(&self, name: &str) -> String {
        let doc = self.aws.iam.get_role_policy().role_name(name).policy_name("pipeline").send().await.unwrap();
        privatelink::parts::role::decode_policy_document(doc.policy_document())
    }
}

/// A function block with the code of examples/private-lambda-sqs (`which`:
/// producer or consumer) and `extra` attributes.
pub fn function(which: &str, extra: Vec<(&str, V)>) -> V {
    let dir = super::root().join("examples/private-lambda-sqs").join(which).display().to_string();
    let mut f = vec![("source_dir", s(&dir)), ("handler", s("index.handler")), ("runtime", s("python3.12"))];
    f.extend(extra);
    obj(f)
}
