//! The endpoint services a region offers (DescribeVpcEndpointServices).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::error::SdkError;
use aws_sdk_ec2::operation::describe_vpc_endpoint_services::{DescribeVpcEndpointServicesError, DescribeVpcEndpointServicesOutput};
use aws_sdk_ec2::types::{ServiceDetail, ServiceType};

use super::{call_failed, Kind, PartResult, PART};
use crate::parts::has_code;

/// A service offered to VPCs in this region.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub kinds: Vec<Kind>,
    pub private_dns_name: Option<String>,
}

/// DescribeVpcEndpointServices (all pages) for `names`; names AWS does
/// not offer are absent from the answer (AWS answers
/// InvalidServiceName for the whole call: then list all and filter).
pub async fn services(ec2: &aws_sdk_ec2::Client, names: &[String]) -> PartResult<Vec<Service>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let details: Vec<ServiceDetail> = match describe_services(ec2, Some(names.to_vec())).await {
        Ok(pages) => pages.iter().flat_map(|p| p.service_details().iter().cloned()).collect(),
        Err(e) if has_code(&e, &[SERVICE_NAME_INVALID]) => {
            let pages = describe_services(ec2, None).await.map_err(|e| call_failed(PART, DESCRIBE_SERVICES, &e))?;
            pages
                .iter()
                .flat_map(|p| p.service_details().iter())
                .filter(|d| d.service_name().is_some_and(|n| names.iter().any(|want| want == n)))
                .cloned()
                .collect()
        }
        Err(e) => return Err(call_failed(PART, DESCRIBE_SERVICES, &e)),
    };
    Ok(merge_services(&details))
}

/// Every service name offered in the region (for "did you mean" hints).
pub async fn all_service_names(ec2: &aws_sdk_ec2::Client) -> PartResult<Vec<String>> {
    let pages = describe_services(ec2, None).await.map_err(|e| call_failed(PART, DESCRIBE_SERVICES, &e))?;
    // A service offering both kinds (s3, dynamodb) is listed once per kind.
    let names: BTreeSet<String> = pages.iter().flat_map(|p| p.service_names().iter().cloned()).collect();
    Ok(names.into_iter().collect())
}

const DESCRIBE_SERVICES: &str = "ec2:DescribeVpcEndpointServices";

const SERVICE_NAME_INVALID: &str = "InvalidServiceName";

type DescribeServicesError = SdkError<DescribeVpcEndpointServicesError>;

/// Every page of DescribeVpcEndpointServices, for `names` or for all.
async fn describe_services(
    ec2: &aws_sdk_ec2::Client,
    names: Option<Vec<String>>,
) -> Result<Vec<DescribeVpcEndpointServicesOutput>, DescribeServicesError> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ec2.describe_vpc_endpoint_services().set_service_names(names.clone()).set_next_token(token.clone()).send().await?;
        let next = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        pages.push(page);
        // A token equal to the one just sent would loop forever.
        if next.is_none() || next == token {
            return Ok(pages);
        }
        token = next;
    }
}

/// One Service per name: AWS lists a service once per kind it offers
/// (s3 as Interface and as Gateway).
pub(super) fn merge_services(details: &[ServiceDetail]) -> Vec<Service> {
    let mut by_name: BTreeMap<&str, Service> = BTreeMap::new();
    for d in details {
        let Some(name) = d.service_name() else { continue };
        let service = by_name.entry(name).or_insert_with(|| Service { name: name.to_string(), kinds: Vec::new(), private_dns_name: None });
        service.kinds.extend(d.service_type().iter().filter_map(|t| service_kind(t.service_type())));
        service.kinds.sort();
        service.kinds.dedup();
        if service.private_dns_name.is_none() {
            service.private_dns_name = d.private_dns_name().map(str::to_string);
        }
    }
    by_name.into_values().collect()
}

fn service_kind(t: Option<&ServiceType>) -> Option<Kind> {
    match t? {
        ServiceType::Interface => Some(Kind::Interface),
        ServiceType::Gateway => Some(Kind::Gateway),
        _ => None,
    }
}
