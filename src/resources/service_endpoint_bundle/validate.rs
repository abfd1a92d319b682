//! Validation of the configuration alone (no AWS call), run at validate and again at plan.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- validate

pub(super) fn validate_config(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    let id_check = |d: &mut Diagnostics, attr: &Value, path: Path, prefix: &str| {
        if let Some(s) = attr.as_str() {
            if let Err(e) = crate::validate::aws_id(prefix, s) {
                d.push(Diagnostic::error(format!("Invalid {prefix} id"), e).at(path));
            }
        }
    };
    let ids_check = |d: &mut Diagnostics, set: &Value, path: Path, prefix: &str| {
        for v in set.elements() {
            if let Some(s) = v.as_str() {
                if let Err(e) = crate::validate::aws_id(prefix, s) {
                    d.push(Diagnostic::error(format!("Invalid {prefix} id"), e).at(path.clone()));
                }
            }
        }
    };
    id_check(&mut d, config.get("vpc_id"), Path::attr("vpc_id"), "vpc");
    ids_check(&mut d, config.get("subnet_ids"), Path::attr("subnet_ids"), "subnet");
    ids_check(&mut d, config.get("route_table_ids"), Path::attr("route_table_ids"), "rtb");
    ids_check(&mut d, config.get("allowed_security_group_ids"), Path::attr("allowed_security_group_ids"), "sg");
    ids_check(&mut d, config.get("security_group_ids"), Path::attr("security_group_ids"), "sg");
    for v in config.get("allowed_cidr_blocks").elements() {
        if let Some(c) = v.as_str() {
            let path = Path::attr("allowed_cidr_blocks");
            match crate::validate::cidr(c) {
                Err(e) => d.push(Diagnostic::error("Invalid CIDR block", e).at(path)),
                Ok(()) if c.ends_with("/0") => d.push(
                    Diagnostic::error(
                        "CIDR block open to everyone",
                        format!("{c} would let every address that can route to the endpoints connect. Name the clients: their subnets' CIDR blocks, or their security groups in allowed_security_group_ids."),
                    )
                    .at(path),
                ),
                Ok(()) => {}
            }
        }
    }
    if let Some(name) = config.get("name").as_str() {
        if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            d.push(Diagnostic::error("Invalid name", format!("{name:?}: 1 to 100 letters, digits, '-' or '_'.")).at(Path::attr("name")));
        }
    }
    for (k, v) in config.get("tags").string_map() {
        if let Err(e) = crate::validate::tag(&k, &v) {
            d.push(Diagnostic::error("Invalid tag", e).at(Path::attr("tags").key(&k)));
        }
    }
    for diag in Timeouts::validate(config.get("timeouts"), &Path::attr("timeouts")) {
        d.push(diag);
    }
    validate_endpoints(config, &mut d);
    d
}

pub(super) fn validate_endpoints(config: &Value, d: &mut Diagnostics) {
    let mut seen: BTreeMap<(String, Kind), usize> = BTreeMap::new();
    let mut any_interface = false;
    for (i, b) in config.get("endpoint").elements().iter().enumerate() {
        let at = Path::attr("endpoint").index(i);
        let kind = match b.get("type") {
            Value::String(t) if t == "Interface" => Some(Kind::Interface),
            Value::String(t) if t == "Gateway" => Some(Kind::Gateway),
            Value::String(t) => {
                d.push(
                    Diagnostic::error("Invalid endpoint type", format!("{t:?}: expected \"Interface\" or \"Gateway\" (exactly so)."))
                        .at(at.then("type")),
                );
                None
            }
            Value::Unknown => None,
            _ => Some(Kind::Interface),
        };
        if kind == Some(Kind::Interface) {
            any_interface = true;
        }
        if let Some(service) = b.get("service").as_str() {
            let well_formed = !service.is_empty()
                && service.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-' || c == '_')
                && !service.starts_with('.')
                && !service.ends_with('.');
            if !well_formed {
                d.push(Diagnostic::error("Invalid service name", format!("{service:?}: expected a short name such as \"sqs\", \"s3\", \"ecr.api\" or a full name such as \"com.amazonaws.eu-west-1.sqs\".")).at(at.then("service")));
            }
            if kind == Some(Kind::Gateway) && !gateway_capable(service) {
                d.push(
                    Diagnostic::error(
                        "Gateway endpoint not offered",
                        format!(
                            "AWS offers Gateway endpoints only for {}; use type = \"Interface\" for {service:?}.",
                            GATEWAY_SERVICES.join(" and ")
                        ),
                    )
                    .at(at.then("type")),
                );
            }
            if let Some(kind) = kind {
                let key = (short_service_name(service), kind);
                if let Some(first) = seen.insert(key, i) {
                    d.push(
                        Diagnostic::error(
                            "Duplicate endpoint",
                            format!(
                                "endpoint[{first}] already asks for a {} endpoint to {service:?}; one per service and type.",
                                kind.as_str()
                            ),
                        )
                        .at(at.then("service")),
                    );
                }
            }
        }
        if kind == Some(Kind::Gateway) && !b.get("private_dns_enabled").is_null() && !b.get("private_dns_enabled").is_unknown() {
            d.push(
                Diagnostic::error(
                    "Private DNS on a Gateway endpoint",
                    "Gateway endpoints work through route tables and have no DNS names; remove private_dns_enabled.",
                )
                .at(at.then("private_dns_enabled")),
            );
        }
        if let Some(p) = b.get("policy").as_str() {
            if let Err(e) = policy::validate(p) {
                d.push(Diagnostic::error("Invalid endpoint policy", e).at(at.then("policy")));
            }
        }
        for (attr, prefix) in [("subnet_ids", "subnet"), ("route_table_ids", "rtb")] {
            for v in b.get(attr).elements() {
                if let Some(s) = v.as_str() {
                    if let Err(e) = crate::validate::aws_id(prefix, s) {
                        d.push(Diagnostic::error(format!("Invalid {prefix} id"), e).at(at.then(attr)));
                    }
                }
            }
        }
        let effective = |attr: &str| {
            let own = b.get(attr);
            if own.is_null() {
                config.get(attr)
            } else {
                own
            }
        };
        match kind {
            Some(Kind::Interface) => {
                let s = effective("subnet_ids");
                if !s.is_unknown() && s.elements().is_empty() && s.is_wholly_known() {
                    d.push(Diagnostic::error("Interface endpoint without subnets", "An Interface endpoint lives in subnets: set subnet_ids on the bundle or on this endpoint (one subnet per Availability Zone).").at(at.clone()));
                }
            }
            Some(Kind::Gateway) => {
                let r = effective("route_table_ids");
                if !r.is_unknown() && r.elements().is_empty() && r.is_wholly_known() {
                    d.push(
                        Diagnostic::error(
                            "Gateway endpoint without route tables",
                            "A Gateway endpoint works through route tables: set route_table_ids on the bundle or on this endpoint.",
                        )
                        .at(at.clone()),
                    );
                }
            }
            None => {}
        }
    }
    let clients = ["allowed_security_group_ids", "allowed_cidr_blocks", "security_group_ids"];
    let all_known = clients.iter().all(|a| config.get(a).is_wholly_known());
    let none_given = clients.iter().all(|a| config.get(a).elements().is_empty());
    if any_interface && all_known && none_given {
        d.push(Diagnostic::error(
            "Nobody may connect to the Interface endpoints",
            "Name the clients in allowed_security_group_ids (e.g. your Lambda functions' group) or allowed_cidr_blocks, or attach your own groups with security_group_ids.",
        ).at(Path::attr("allowed_security_group_ids")));
    }
}
