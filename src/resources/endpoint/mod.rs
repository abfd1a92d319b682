//! The service endpoint block: a VPC endpoint to one AWS service. Its
//! service naming (short `sqs` or full `com.amazonaws.REGION.sqs`, one
//! rule for what a service name may be), the Interface / Gateway choice,
//! inbound-only private DNS, its security group (TCP 443 in from its
//! clients), its spec, observe / ensure / remove (apply.rs), and the checks
//! against AWS: the VPC's DNS for private DNS, the one endpoint that owns a
//! service's private DNS name, an existing endpoint reused (checks.rs);
//! and what a misspelt service name was meant to be (`near_matches`). The
//! bundle uses it once per `endpoint` block; the pipeline for its SQS
//! endpoint.

use crate::model::Val;
use crate::parts::vpc_endpoint::Kind;

mod apply;
mod checks;

pub use apply::{admitted_groups, find_live, group_spec, remove, DesiredEndpoint};
pub use checks::{check_reused, check_vpc_dns, dns_owner, vpc_has_gateway};

/// Services AWS offers as Gateway endpoints.
pub const GATEWAY_SERVICES: [&str; 2] = ["s3", "dynamodb"];

/// The queue service, whose Interface endpoint the pipeline's producer uses.
pub const SQS: &str = "sqs";

/// The one service AWS takes `PrivateDnsOnlyForInboundResolverEndpoint` for:
/// it must offer both Interface and Gateway endpoints, and of the two
/// Gateway services only S3 has Interface endpoints.
pub const INBOUND_ONLY_SERVICE: &str = "s3";

/// What identifies an endpoint: its service (full name) and type.
pub type Key = (String, Kind);

/// The SQS service's full name in `region`.
pub fn sqs(region: &str) -> String {
    full_service_name(SQS, region)
}

/// A service name as users write it: a short name (`sqs`, `ecr.api`,
/// `s3-outposts`) or a full one (`com.amazonaws.us-east-1.sqs`): lower-case
/// letters, digits, `-` and `.`, not starting or ending with a dot. AWS
/// names its endpoint services so (DescribeVpcEndpointServices); no name
/// has an `_`.
pub fn check_service_name(s: &str) -> Result<(), String> {
    let ok_chars = !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if ok_chars && !s.starts_with('.') && !s.ends_with('.') {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a service name: write a short name such as \"sqs\", \"s3\" or \"logs\", or a full one such as \"com.amazonaws.us-east-1.sqs\"."
        ))
    }
}

pub fn is_full_name(service: &str) -> bool {
    service.contains('.') && (service.starts_with("com.amazonaws.") || service.starts_with("aws."))
}

/// `sqs` -> `com.amazonaws.eu-west-1.sqs`; full names stay as written.
pub fn full_service_name(service: &str, region: &str) -> String {
    if is_full_name(service) {
        service.to_string()
    } else {
        format!("com.amazonaws.{region}.{service}")
    }
}

/// `com.amazonaws.eu-west-1.sqs` -> `sqs` (the form users write).
pub fn short_service_name(full: &str) -> String {
    let parts: Vec<&str> = full.splitn(4, '.').collect();
    if parts.len() == 4 && parts[0] == "com" && parts[1] == "amazonaws" && crate::validate::region(parts[2]).is_ok() {
        parts[3].to_string()
    } else {
        full.to_string()
    }
}

/// Endpoint services whose IAM actions carry another prefix than the
/// service's short name (its first word otherwise: `ecr.api` -> `ecr`).
/// From the Service Authorization Reference's service prefixes.
const IAM_PREFIXES: [(&str, &str); 14] = [
    ("monitoring", "cloudwatch"),
    ("email", "ses"),
    ("email-smtp", "ses"),
    ("runtime.sagemaker", "sagemaker"),
    ("api.sagemaker", "sagemaker"),
    ("bedrock-runtime", "bedrock"),
    ("bedrock-agent", "bedrock"),
    ("bedrock-agent-runtime", "bedrock"),
    ("kinesis-streams", "kinesis"),
    ("kinesis-firehose", "firehose"),
    ("ecs-agent", "ecs"),
    ("ecs-telemetry", "ecs"),
    ("git-codecommit", "codecommit"),
    ("appconfigdata", "appconfig"),
];

/// The prefix of the service's IAM actions (`s3` for `s3:GetObject`), for a
/// short or full service name; a FIPS endpoint's is its service's.
pub fn iam_prefix(service: &str) -> String {
    let short = short_service_name(service);
    let short = short.trim_end_matches("-fips");
    if let Some((_, prefix)) = IAM_PREFIXES.iter().find(|(s, _)| *s == short) {
        return prefix.to_string();
    }
    short.split('.').next().unwrap_or(short).to_string()
}

/// Whether AWS offers a Gateway endpoint for the service.
pub fn gateway_capable(service: &str) -> bool {
    let short = if is_full_name(service) { short_service_name(service) } else { service.to_string() };
    GATEWAY_SERVICES.contains(&short.as_str())
}

/// Whether `private_dns_only_for_inbound_resolver_endpoint` applies: an
/// Interface endpoint for s3 with private DNS on (null private DNS is the
/// Interface default, on). None while the service (None) or private DNS is
/// unknown.
pub fn inbound_only_applies(service: Option<&str>, kind: Kind, private_dns: &Val<bool>) -> Option<bool> {
    let service = service?;
    if kind != Kind::Interface || short_service_name(service) != INBOUND_ONLY_SERVICE {
        return Some(false);
    }
    match private_dns {
        Val::Known(on) => Some(*on),
        Val::Null => Some(true),
        Val::Unknown => None,
    }
}

/// Service names close to `wanted`: same last word, or a small edit away.
pub fn near_matches(wanted: &str, names: &[String]) -> Vec<String> {
    let short = short_service_name(wanted);
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .map(|n| (edit_distance(&short, &short_service_name(n)), n))
        .filter(|(dist, n)| *dist <= 2 || short_service_name(n).contains(&short) || short.contains(&short_service_name(n)))
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, n)| n.clone()).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j])).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names() {
        assert_eq!(full_service_name("sqs", "eu-west-1"), "com.amazonaws.eu-west-1.sqs");
        assert_eq!(sqs("eu-west-1"), "com.amazonaws.eu-west-1.sqs");
        assert_eq!(full_service_name("com.amazonaws.us-east-1.s3", "eu-west-1"), "com.amazonaws.us-east-1.s3");
        assert_eq!(short_service_name("com.amazonaws.eu-west-1.ecr.api"), "ecr.api");
        assert!(gateway_capable("s3") && gateway_capable("com.amazonaws.us-east-1.dynamodb") && !gateway_capable("sqs"));
    }

    #[test]
    fn near_matches_suggest_close_names() {
        let names: Vec<String> = ["com.amazonaws.us-east-1.sqs", "com.amazonaws.us-east-1.sns", "com.amazonaws.us-east-1.s3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let n = near_matches("com.amazonaws.us-east-1.sqq", &names);
        assert_eq!(n.first().map(String::as_str), Some("com.amazonaws.us-east-1.sqs"));
    }

    #[test]
    fn iam_prefixes_of_endpoint_services() {
        for (service, prefix) in [
            ("s3", "s3"),
            ("com.amazonaws.us-east-1.sqs", "sqs"),
            ("ecr.api", "ecr"),
            ("ecr.dkr", "ecr"),
            ("monitoring", "cloudwatch"),
            ("execute-api", "execute-api"),
            ("kms-fips", "kms"),
            ("com.amazonaws.eu-west-1.bedrock-runtime", "bedrock"),
        ] {
            assert_eq!(iam_prefix(service), prefix, "{service}");
        }
    }

    #[test]
    fn one_rule_for_service_names() {
        for ok in ["sqs", "ecr.api", "s3-outposts", "com.amazonaws.us-east-1.sqs", "aws.sagemaker.us-east-1.notebook"] {
            assert_eq!(check_service_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "SQS!", "Sqs", ".sqs", "sqs.", "my_service", "s q s"] {
            assert!(check_service_name(bad).is_err(), "{bad}");
        }
    }
}
