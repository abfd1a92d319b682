//! What the emulator holds of ours in a VPC, read directly (not through a
//! proxy), for tests that check what a run made and what it left.

use aws_sdk_ec2::types::{Filter, VpcEndpoint};

/// Endpoints by state (moto keeps a deleted endpoint, listed as
/// "deleted"), the groups carrying the ownership tag, and by name: queues,
/// functions other than scripts/network.py's "app", the pipelines'
/// roles, and log groups (but the "app" function's). Names are sorted.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Census {
    /// Live endpoints: (id, service name).
    pub endpoints: Vec<(String, String)>,
    pub deleted_endpoints: usize,
    pub groups: Vec<String>,
    pub queues: Vec<String>,
    pub functions: Vec<String>,
    pub roles: Vec<String>,
    /// Every CloudWatch Logs group. moto's Lambda makes none when a
    /// function is created (only on an invoke, as AWS does on the first
    /// write), so any left here after a destroy is the pipeline's own.
    pub log_groups: Vec<String>,
}

impl Census {
    pub async fn take(aws: &privatelink::aws::Aws, vpc: &str) -> Census {
        let eps = aws.ec2.describe_vpc_endpoints().filters(Filter::builder().name("vpc-id").values(vpc).build()).send().await.unwrap();
        let deleted = |e: &VpcEndpoint| e.state().is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted"));
        let endpoints = eps
            .vpc_endpoints()
            .iter()
            .filter(|e| !deleted(e))
            .map(|e| (e.vpc_endpoint_id().unwrap_or_default().to_string(), e.service_name().unwrap_or_default().to_string()))
            .collect();
        let deleted_endpoints = eps.vpc_endpoints().iter().filter(|e| deleted(e)).count();
        let groups = aws
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("tag-key").values("privatelink:owner").build())
            .send()
            .await
            .unwrap()
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect();
        let queues = aws
            .sqs
            .list_queues()
            .send()
            .await
            .unwrap()
            .queue_urls()
            .iter()
            .filter_map(|u| u.rsplit('/').next().map(str::to_string))
            .collect();
        let functions = aws
            .lambda
            .list_functions()
            .send()
            .await
            .unwrap()
            .functions()
            .iter()
            .filter_map(|f| f.function_name().map(str::to_string))
            .filter(|n| n != "app")
            .collect();
        let roles = aws
            .iam
            .list_roles()
            .send()
            .await
            .unwrap()
            .roles()
            .iter()
            .map(|r| r.role_name().to_string())
            .filter(|n| n.ends_with("-producer") || n.ends_with("-consumer"))
            .collect();
        let log_groups: Vec<aws_sdk_cloudwatchlogs::types::LogGroup> =
            aws.logs.describe_log_groups().into_paginator().items().send().try_collect().await.unwrap();
        let log_groups =
            log_groups.iter().filter_map(|g| g.log_group_name().map(str::to_string)).filter(|n| n != "/aws/lambda/app").collect();
        Census {
            endpoints,
            deleted_endpoints,
            groups,
            queues: sorted(queues),
            functions: sorted(functions),
            roles: sorted(roles),
            log_groups: sorted(log_groups),
        }
    }

    /// Ids of the live SQS endpoints.
    pub fn sqs_endpoints(&self) -> Vec<String> {
        self.endpoints.iter().filter(|(_, service)| service.ends_with(".sqs")).map(|(id, _)| id.clone()).collect()
    }

    /// What must be gone after a destroy: all but the deleted endpoints.
    pub fn leftovers(&self) -> Census {
        Census { deleted_endpoints: 0, ..self.clone() }
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
