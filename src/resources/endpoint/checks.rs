//! The endpoint block's checks against AWS, at plan: what private DNS
//! needs (the VPC's DNS settings, and no other endpoint owning the name),
//! a Gateway endpoint in the VPC, an existing endpoint a composite reuses.

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Path};
use crate::parts::tags;
use crate::parts::vpc;
use crate::parts::vpc_endpoint::{self as vpce, Endpoint, Kind};

use super::find_live;

/// Private DNS of an Interface endpoint needs the VPC's DNS support and
/// DNS host names: an error at `vpc_id` when either is off (`remedy` says
/// what else the user can do), or when the VPC does not exist.
pub async fn check_vpc_dns(ctx: &Ctx, vpc_id: &str, summary: &str, remedy: &str) -> Result<Option<Diagnostic>, Diagnostic> {
    let region = ctx.aws.region.as_str();
    Ok(match vpc::dns_attributes(&ctx.aws.ec2, vpc_id).await? {
        None => Some(Diagnostic::error("VPC not found", format!("VPC {vpc_id} does not exist in {region}.")).at(Path::attr("vpc_id"))),
        Some((support, hostnames)) if !(support && hostnames) => Some(
            Diagnostic::error(
                summary,
                format!(
                    "VPC {vpc_id} has enableDnsSupport={support} and enableDnsHostnames={hostnames}. Turn both on (aws_vpc: enable_dns_support = true, enable_dns_hostnames = true){remedy}."
                ),
            )
            .at(Path::attr("vpc_id")),
        ),
        _ => None,
    })
}

/// The endpoint that already owns `service`'s private DNS name in the VPC:
/// one of `kind` that is not tagged as `owner`'s (while the owner is not
/// known yet, any). Only one endpoint per service and VPC can own the
/// name, so a new one with private DNS next to it fails.
pub async fn dns_owner(ctx: &Ctx, vpc_id: &str, service: &str, kind: Kind, owner: Option<&str>) -> Result<Option<Endpoint>, Diagnostic> {
    let existing = vpce::find_for_service(&ctx.aws.ec2, vpc_id, service).await?;
    Ok(existing.into_iter().find(|e| e.kind == kind && (owner.is_none() || e.tags.get(tags::OWNER_TAG).map(String::as_str) != owner)))
}

/// Whether the VPC has a Gateway endpoint for `service` (not one going).
pub async fn vpc_has_gateway(ctx: &Ctx, vpc_id: &str, service: &str) -> Result<bool, Diagnostic> {
    let found = vpce::find_for_service(&ctx.aws.ec2, vpc_id, service).await?;
    Ok(found.iter().any(|e| e.kind == Kind::Gateway))
}

/// An endpoint to reuse exists, is in the VPC and is an Interface
/// endpoint for `service` (full name); `user` says who needs it, e.g.
/// `the producer`. The problem, at `at`, if any.
pub async fn check_reused(
    ctx: &Ctx,
    vpc_id: &str,
    id: &str,
    service: &str,
    user: &str,
    at: &Path,
) -> Result<Option<Diagnostic>, Diagnostic> {
    let region = ctx.aws.region.as_str();
    let short = super::short_service_name(service).to_uppercase();
    let problem = match find_live(ctx, id).await? {
        None => Some(Diagnostic::error("Endpoint not found", format!("{id} does not exist (or is deleted) in {region}."))),
        Some(e) if e.vpc_id != vpc_id => {
            Some(Diagnostic::error("Endpoint in another VPC", format!("{id} is in {}, not in {vpc_id}.", e.vpc_id)))
        }
        Some(e) if e.service_name != service || e.kind != Kind::Interface => Some(Diagnostic::error(
            format!("Not an {short} Interface endpoint"),
            format!("{id} is a {} endpoint for {}; {user} needs an Interface endpoint for {service}.", e.kind.as_str(), e.service_name),
        )),
        _ => None,
    };
    Ok(problem.map(|p| p.at(at.clone())))
}
