//! The test bed of the private function's gRPC module: a
//! `privatelink_private_function` named `reader` driven over gRPC against
//! moto behind the AWS rules, with SDK clients through the same rules (a
//! change made by hand is seen as AWS would see it), in the network
//! scripts/network.py makes. Helpers read back what the composite made:
//! rules of a group as flat strings, endpoints, the role's statements.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{Filter, IpPermission, SecurityGroup, VpcEndpoint};
use rmpv::Value as V;

use super::driver::Driver;
use super::moto::Moto;
use super::plugin::Plugin;
use super::{field, obj, s, Net};

pub const TYPE: &str = "privatelink_private_function";
pub const BUNDLE_TYPE: &str = "privatelink_service_endpoint_bundle";

/// The composite's name: its function's, its role's, its groups' prefix.
pub const NAME: &str = "reader";
pub const OWNER: &str = "function/reader";
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = super::moto::ACCOUNT_ID;

pub struct Bed {
    pub moto: Moto,
    _plugin: Plugin,
    pub tf: Driver,
    pub aws: privatelink::aws::Aws,
    pub net: Net,
}

impl Bed {
    /// A fresh emulator, its network, and the provider with the default
    /// tag `team = data`.
    pub async fn start() -> Bed {
        let moto = Moto::start();
        let net = Net::make(&moto.url());
        let plugin = Plugin::start(&[]);
        let tf = Driver::new(&plugin, TYPE, &moto.url(), &[("team", "data")]).await;
        let aws = super::aws(&moto.url()).await;
        Bed { moto, _plugin: plugin, tf, aws, net }
    }

    /// Another driver on the same provider (configured once), for a
    /// second resource type.
    pub fn driver(&self, type_name: &str) -> Driver {
        Driver { client: self.tf.client.clone(), type_name: type_name.into() }
    }

    /// `reader` in the bed's subnets with `access` blocks and `extra`
    /// top-level attributes, its function the producer's code of
    /// examples/private-lambda-sqs with `function` attributes.
    pub fn config(&self, access: Vec<V>, function: Vec<(&str, V)>, extra: Vec<(&str, V)>) -> V {
        self.config_in(&self.net.subnets, access, function, extra)
    }

    pub fn config_in(&self, subnets: &[String], access: Vec<V>, function: Vec<(&str, V)>, extra: Vec<(&str, V)>) -> V {
        let mut fields = vec![
            ("name", s(NAME)),
            ("vpc_id", s(&self.net.vpc)),
            ("subnet_ids", strings(subnets)),
            ("function", super::pipeline::function("producer", function)),
            ("access", V::Array(access)),
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

    pub async fn group(&self, id: &str) -> SecurityGroup {
        let out = self.aws.ec2.describe_security_groups().group_ids(id).send().await.unwrap_or_else(|e| panic!("{id}: {e:?}"));
        out.security_groups()[0].clone()
    }

    /// Groups of the VPC named `name` (none, or one).
    pub async fn groups_named(&self, name: &str) -> Vec<SecurityGroup> {
        let out = self
            .aws
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("vpc-id").values(&self.net.vpc).build())
            .filters(Filter::builder().name("group-name").values(name).build())
            .send()
            .await
            .unwrap();
        out.security_groups().to_vec()
    }

    pub async fn endpoint(&self, id: &str) -> VpcEndpoint {
        let out = self.aws.ec2.describe_vpc_endpoints().vpc_endpoint_ids(id).send().await.unwrap_or_else(|e| panic!("{id}: {e:?}"));
        out.vpc_endpoints()[0].clone()
    }

    /// Endpoints of the VPC as moto has them, but deleted ones (moto
    /// keeps a deleted endpoint listed, with state `deleted`): by id.
    pub async fn live_endpoints(&self) -> BTreeMap<String, VpcEndpoint> {
        let out = self
            .aws
            .ec2
            .describe_vpc_endpoints()
            .filters(Filter::builder().name("vpc-id").values(&self.net.vpc).build())
            .send()
            .await
            .unwrap();
        out.vpc_endpoints()
            .iter()
            .filter(|e| !matches!(e.state().map(|s| s.as_str().to_ascii_lowercase()).as_deref(), Some("deleted" | "deleting")))
            .map(|e| (e.vpc_endpoint_id().unwrap().to_string(), e.clone()))
            .collect()
    }

    /// The prefix list of `service` (`s3`, `dynamodb`) in the region.
    pub async fn prefix_list(&self, service: &str) -> String {
        let name = format!("com.amazonaws.{REGION}.{service}");
        let out = self
            .aws
            .ec2
            .describe_prefix_lists()
            .filters(Filter::builder().name("prefix-list-name").values(&name).build())
            .send()
            .await
            .unwrap();
        out.prefix_lists().first().and_then(|p| p.prefix_list_id()).unwrap_or_else(|| panic!("no prefix list {name}")).to_string()
    }

    /// The VPC's main route table.
    pub async fn main_route_table(&self) -> String {
        let out = self
            .aws
            .ec2
            .describe_route_tables()
            .filters(Filter::builder().name("vpc-id").values(&self.net.vpc).build())
            .filters(Filter::builder().name("association.main").values("true").build())
            .send()
            .await
            .unwrap();
        out.route_tables()[0].route_table_id().unwrap().to_string()
    }

    /// The role's inline policy `function`, decoded.
    pub async fn role_policy(&self) -> String {
        let doc = self.aws.iam.get_role_policy().role_name(NAME).policy_name("function").send().await.unwrap();
        privatelink::parts::role::decode_policy_document(doc.policy_document())
    }

    /// The names of the role's inline policies.
    pub async fn role_policy_names(&self) -> Vec<String> {
        let out = self.aws.iam.list_role_policies().role_name(NAME).send().await.unwrap();
        let mut names = out.policy_names().to_vec();
        names.sort();
        names
    }

    pub async fn role_tags(&self) -> BTreeMap<String, String> {
        let out = self.aws.iam.list_role_tags().role_name(NAME).send().await.unwrap();
        out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
    }

    pub async fn function_tags(&self, arn: &str) -> BTreeMap<String, String> {
        let out = self.aws.lambda.list_tags().resource(arn).send().await.unwrap();
        out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
    }

    pub async fn log_group_tags(&self) -> BTreeMap<String, String> {
        let arn = format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{}", log_group());
        let out = self.aws.logs.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
        out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
    }

    /// The function's log group as CloudWatch Logs has it, if any.
    pub async fn log_group(&self) -> Option<aws_sdk_cloudwatchlogs::types::LogGroup> {
        let out = self.aws.logs.describe_log_groups().log_group_name_prefix(log_group()).send().await.unwrap();
        out.log_groups().iter().find(|g| g.log_group_name() == Some(log_group().as_str())).cloned()
    }
}

/// `/aws/lambda/reader`.
pub fn log_group() -> String {
    format!("/aws/lambda/{NAME}")
}

pub fn strings(items: &[impl AsRef<str>]) -> V {
    V::Array(items.iter().map(|i| s(i.as_ref())).collect())
}

/// An `access` block: `service`, `actions` on `resources`, and `extra`
/// attributes (endpoint_type, endpoint_id, policy).
pub fn access(service: &str, actions: &[&str], resources: &[&str], extra: Vec<(&str, V)>) -> V {
    let mut f = vec![("service", s(service)), ("actions", strings(actions)), ("resources", strings(resources))];
    f.extend(extra);
    obj(f)
}

pub fn str_of<'a>(v: &'a V, k: &str) -> &'a str {
    field(v, k).as_str().unwrap_or_else(|| panic!("{k} is not a string: {:?}", field(v, k)))
}

/// A map of strings (`endpoints`, `tags_all`) as a BTreeMap.
pub fn map_of(v: &V) -> BTreeMap<String, String> {
    v.as_map()
        .unwrap_or_else(|| panic!("not a map: {v:?}"))
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.as_str().unwrap_or_else(|| panic!("{k}: {v:?}")).to_string()))
        .collect()
}

/// A list of strings (`rule_drift`), in order.
pub fn list_of(v: &V) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v:?}")).iter().map(|i| i.as_str().unwrap().to_string()).collect()
}

pub fn set_of(items: &[impl AsRef<str>]) -> BTreeSet<String> {
    items.iter().map(|i| i.as_ref().to_string()).collect()
}

/// Each rule of `perms` alone, as `tcp 443-443 <peer>` (`-1` for all
/// protocols, `all` for no ports): a group, a prefix list or a CIDR. One
/// IpPermission may carry several peers; this flattens them, so rules
/// compare whatever way AWS grouped them.
pub fn rules(perms: &[IpPermission]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in perms {
        let proto = p.ip_protocol().unwrap_or("?");
        let ports = match (p.from_port(), p.to_port()) {
            (Some(f), Some(t)) if proto != "-1" => format!("{f}-{t}"),
            _ => "all".to_string(),
        };
        let peers = p
            .user_id_group_pairs()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .chain(p.prefix_list_ids().iter().filter_map(|l| l.prefix_list_id().map(str::to_string)))
            .chain(p.ip_ranges().iter().filter_map(|r| r.cidr_ip().map(str::to_string)))
            .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6().map(str::to_string)));
        for peer in peers {
            out.insert(format!("{proto} {ports} {peer}"));
        }
    }
    out
}

/// `tcp 443-443 <peer>`, as `rules` writes it.
pub fn https(peer: &str) -> String {
    format!("tcp 443-443 {peer}")
}

/// The tags of an EC2 object (group, endpoint) as a map.
pub fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect()
}

/// One statement of a policy, its lists as sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Statement {
    pub effect: String,
    pub actions: BTreeSet<String>,
    pub resources: BTreeSet<String>,
}

/// A policy's statements by meaning, and their Sids (None: no Sid).
pub fn statements(doc: &str) -> (BTreeSet<Statement>, Vec<(Option<String>, Statement)>) {
    let v: serde_json::Value = serde_json::from_str(doc).unwrap_or_else(|e| panic!("not JSON ({e}): {doc}"));
    let list = match &v["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        one @ serde_json::Value::Object(_) => vec![one.clone()],
        other => panic!("no Statement: {other:?} in {doc}"),
    };
    let strings = |x: &serde_json::Value| -> BTreeSet<String> {
        match x {
            serde_json::Value::String(s) => [s.clone()].into(),
            serde_json::Value::Array(a) => a.iter().map(|i| i.as_str().unwrap().to_string()).collect(),
            other => panic!("not a string or list: {other:?}"),
        }
    };
    let with_sids: Vec<(Option<String>, Statement)> = list
        .iter()
        .map(|st| {
            let statement = Statement {
                effect: st["Effect"].as_str().unwrap_or("").to_string(),
                actions: strings(&st["Action"]),
                resources: strings(&st["Resource"]),
            };
            (st["Sid"].as_str().map(str::to_string), statement)
        })
        .collect();
    (with_sids.iter().map(|(_, s)| s.clone()).collect(), with_sids)
}

pub fn allow(actions: &[&str], resources: &[&str]) -> Statement {
    Statement { effect: "Allow".into(), actions: set_of(actions), resources: set_of(resources) }
}

/// `doc` without its statements' Sids (a Sid names a statement without
/// changing what it allows).
pub fn without_sids(doc: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(doc).unwrap_or_else(|e| panic!("not JSON ({e}): {doc}"));
    match &mut v["Statement"] {
        serde_json::Value::Array(list) => {
            for o in list.iter_mut().filter_map(serde_json::Value::as_object_mut) {
                o.remove("Sid");
            }
        }
        serde_json::Value::Object(o) => {
            o.remove("Sid");
        }
        _ => {}
    }
    v.to_string()
}

/// The endpoint policy the composite writes for an access: any principal,
/// exactly `actions` on `resources`.
pub fn endpoint_policy(actions: &[&str], resources: &[&str]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": actions, "Resource": resources}],
    })
    .to_string()
}

/// Does the endpoint's policy mean `wanted` (Sids aside)?
pub fn same_policy(got: Option<&str>, wanted: &str) -> bool {
    got.is_some_and(|g| privatelink::policy::equivalent(&without_sids(g), &without_sids(wanted)))
}

/// The statements every role the composite makes has besides its
/// accesses: writes to its own log group, and its network interfaces.
pub fn base_statements() -> Vec<Statement> {
    let logs = format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{}:*", log_group());
    vec![allow(&["logs:CreateLogStream", "logs:PutLogEvents"], &[&logs]), allow(&privatelink::policy::VPC_ENI_ACTIONS, &["*"])]
}

/// The bundle `core` in the bed's network: `endpoints` blocks, TCP 443
/// admitted from `allowed` groups.
pub fn bundle_config(bed: &Bed, allowed: &[&str], endpoints: Vec<V>) -> V {
    obj(vec![
        ("name", s("core")),
        ("vpc_id", s(&bed.net.vpc)),
        ("subnet_ids", strings(&bed.net.subnets)),
        ("route_table_ids", strings(&bed.net.route_tables)),
        ("allowed_security_group_ids", strings(allowed)),
        ("endpoint", V::Array(endpoints)),
    ])
}

/// A bundle's `endpoint` block.
pub fn bundle_endpoint(service: &str, kind: &str) -> V {
    obj(vec![("service", s(service)), ("type", s(kind))])
}
