//! Pure checks of user input, shared by the provider and every resource.
//! Each returns `Err(what would be valid)` so the caller can put it in a
//! diagnostic at the right attribute path before any AWS call is made.

/// AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`,
/// `cn-north-1`, `us-iso-east-1`, `us-isob-east-1`, `eu-isoe-west-1`.
pub fn region(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts.len() <= 4
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && {
            let n = parts[parts.len() - 1];
            !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit())
        };
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not an AWS region name; expected the form us-east-1, eu-west-2, us-gov-west-1"))
    }
}

/// An endpoint override: an absolute http(s) URL with a host.
pub fn endpoint_url(s: &str) -> Result<(), String> {
    match url::Url::parse(s) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some() => Ok(()),
        Ok(u) => Err(format!("{s:?} has scheme {:?}; expected an http:// or https:// URL such as http://127.0.0.1:5000", u.scheme())),
        Err(e) => Err(format!("{s:?} is not a URL ({e}); expected an http:// or https:// URL such as http://127.0.0.1:5000")),
    }
}

/// An IAM role ARN: `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
pub fn role_arn(s: &str) -> Result<(), String> {
    let expect = "expected arn:aws:iam::123456789012:role/NAME";
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(format!("{s:?} is not an ARN; {expect}"));
    }
    let resource_ok = parts[5].strip_prefix("role/").is_some_and(|n| !n.is_empty() && !n.ends_with('/'));
    if !partition_ok(parts[1]) || parts[2] != "iam" || !parts[3].is_empty() || !account_ok(parts[4]) || !resource_ok {
        return Err(format!("{s:?} is not an IAM role ARN; {expect}"));
    }
    Ok(())
}

/// The partitions an ARN may name.
fn partition_ok(p: &str) -> bool {
    matches!(p, "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b" | "aws-iso-e" | "aws-iso-f")
}

fn account_ok(a: &str) -> bool {
    a.len() == 12 && a.chars().all(|c| c.is_ascii_digit())
}

/// A KMS key ARN: `arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID` (what
/// Lambda and CloudWatch Logs take; not an alias, not a bare key id).
pub fn kms_key_arn(s: &str) -> Result<(), String> {
    let expect = "expected a key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && partition_ok(parts[1])
        && parts[2] == "kms"
        && region(parts[3]).is_ok()
        && account_ok(parts[4])
        && parts[5].strip_prefix("key/").is_some_and(|id| !id.is_empty() && !id.contains('/'));
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a KMS key ARN; {expect} (an alias or a bare key id is not accepted here)"))
    }
}

/// A Lambda layer version ARN:
/// `arn:PARTITION:lambda:REGION:ACCOUNT:layer:NAME:VERSION`.
pub fn layer_version_arn(s: &str) -> Result<(), String> {
    let expect = "expected a layer version ARN such as arn:aws:lambda:us-east-1:123456789012:layer:shared:3 (with its version)";
    let parts: Vec<&str> = s.split(':').collect();
    let ok = parts.len() == 8
        && parts[0] == "arn"
        && partition_ok(parts[1])
        && parts[2] == "lambda"
        && !parts[3].is_empty()
        && account_ok(parts[4])
        && parts[5] == "layer"
        && !parts[6].is_empty()
        && parts[6].chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !parts[7].is_empty()
        && parts[7].chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a layer version ARN; {expect}"))
    }
}

/// AWS tag keys and values: keys 1-128 characters, values up to 256, and
/// the `aws:` prefix is reserved; so is `privatelink:`, the provider's own.
pub fn tag(key: &str, value: &str) -> Result<(), String> {
    let (key_len, value_len) = (key.chars().count(), value.chars().count());
    if key.is_empty() || key_len > TAG_KEY_CHARS {
        return Err(format!("tag key {key:?} is {key_len} characters; AWS takes keys of 1 to {TAG_KEY_CHARS} (Unicode) characters"));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!("tag key {key:?} uses the prefix \"aws:\", which AWS reserves for its own tags; choose another key"));
    }
    if key.starts_with(crate::parts::tags::PREFIX) {
        return Err(format!(
            "tag key {key:?} uses the prefix {:?}, which the provider keeps for the tags it puts on every object to find it again; choose another key",
            crate::parts::tags::PREFIX
        ));
    }
    if value_len > TAG_VALUE_CHARS {
        return Err(format!(
            "the value of tag {key:?} is {value_len} characters; AWS takes values of up to {TAG_VALUE_CHARS} (Unicode) characters"
        ));
    }
    Ok(())
}

/// AWS's longest tag key and value, in Unicode characters (not bytes).
pub const TAG_KEY_CHARS: usize = 128;
pub const TAG_VALUE_CHARS: usize = 256;

/// An AWS resource id with its prefix: `vpc-`, `subnet-`, `sg-`, `rtb-`,
/// `vpce-` followed by 8 or 17 lowercase hex digits.
pub fn aws_id(prefix: &str, s: &str) -> Result<(), String> {
    let ok = s
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a {prefix} id; expected {prefix}- followed by 8 or 17 hex digits, like {prefix}-0123456789abcdef0"))
    }
}

/// An SQS queue ARN: `arn:PARTITION:sqs:REGION:ACCOUNT:NAME`, the name 1 to
/// 80 letters, digits, '-' or '_', a FIFO queue's ending in `.fifo`
/// (CreateQueue, `QueueName`).
pub fn sqs_queue_arn(s: &str) -> Result<(), String> {
    let expect = "expected arn:aws:sqs:REGION:ACCOUNT:QUEUE_NAME, like arn:aws:sqs:eu-west-1:123456789012:orders-dlq";
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(format!("{s:?} is not an ARN; {expect}"));
    }
    let name = parts[5];
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let name_ok = !base.is_empty() && name.len() <= 80 && base.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !partition_ok(parts[1]) || parts[2] != "sqs" || region(parts[3]).is_err() || !account_ok(parts[4]) || !name_ok {
        return Err(format!("{s:?} is not an SQS queue ARN; {expect}"));
    }
    Ok(())
}

/// The region of an ARN that `sqs_queue_arn` accepts.
pub fn arn_region(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or("")
}

/// A CIDR block in canonical form (`10.0.0.0/16`, `2001:db8::/32`): the
/// address must be the network address, so what AWS stores is what the
/// configuration says and no diff appears after apply.
pub fn cidr(s: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{s:?} is not a valid CIDR block ({why}); expected a network like 10.0.0.0/16"));
    let Some((addr, len)) = s.split_once('/') else { return bad("no /prefix length") };
    let Ok(addr) = addr.parse::<std::net::IpAddr>() else { return bad("not an IP address") };
    let Ok(len) = len.parse::<u32>() else { return bad("prefix length is not a number") };
    let (bits, max) = match addr {
        std::net::IpAddr::V4(a) => (u32::from(a) as u128, 32),
        std::net::IpAddr::V6(a) => (u128::from(a), 128),
    };
    if len > max {
        return bad(&format!("prefix length above {max}"));
    }
    let host_mask = if len == max { 0 } else { (1u128 << (max - len)) - 1 };
    if bits & host_mask != 0 {
        let net = bits & !host_mask;
        let canonical = match addr {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::from(net as u32).to_string(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::from(net).to_string(),
        };
        return Err(format!("{s:?} has host bits set; write the network address {canonical}/{len}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in ["us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1", "us-iso-east-1", "ap-southeast-4"] {
            assert!(region(ok).is_ok(), "{ok}");
        }
        for bad in ["", "us-east", "US-EAST-1", "useast1", "us_east_1", "us-east-1a", "u-east-1", "us--1"] {
            assert!(region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoint_urls() {
        assert!(endpoint_url("http://127.0.0.1:5000").is_ok());
        assert!(endpoint_url("https://sqs.eu-west-1.amazonaws.com").is_ok());
        assert!(endpoint_url("127.0.0.1:5000").is_err());
        assert!(endpoint_url("ftp://x").is_err());
        assert!(endpoint_url("not a url").is_err());
    }

    #[test]
    fn kms_key_arns() {
        assert!(kms_key_arn("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab").is_ok());
        assert!(kms_key_arn("arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-1234").is_ok());
        for bad in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/mine",
            "arn:aws:kms:us-east-1:123456789012:alias/mine",
            "arn:aws:kms::123456789012:key/x",
            "arn:aws:kms:us-east-1:123:key/x",
            "arn:aws:kms:us-east-1:123456789012:key/",
        ] {
            assert!(kms_key_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn layer_version_arns() {
        assert!(layer_version_arn("arn:aws:lambda:us-east-1:123456789012:layer:shared-libs:3").is_ok());
        assert!(layer_version_arn("arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-python-amd64-ver-1-25-0:1").is_ok());
        for bad in [
            "arn:aws:lambda:us-east-1:123456789012:layer:shared-libs",
            "arn:aws:lambda:us-east-1:123456789012:layer:shared-libs:latest",
            "arn:aws:lambda:us-east-1:123456789012:function:f:1",
            "shared-libs:3",
        ] {
            assert!(layer_version_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kms_key_arns_name_a_region_and_a_key() {
        for bad in ["arn:aws:kms:moon:123456789012:key/1", "arn:aws:iam::123456789012:key/1"] {
            let e = kms_key_arn(bad).unwrap_err();
            assert!(e.contains("is not a KMS key ARN"), "{bad}: {e}");
        }
    }

    #[test]
    fn role_arns() {
        assert!(role_arn("arn:aws:iam::123456789012:role/deploy").is_ok());
        assert!(role_arn("arn:aws-us-gov:iam::123456789012:role/path/deploy").is_ok());
        for bad in [
            "deploy",
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::12345:role/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam:us-east-1:123456789012:role/x",
        ] {
            assert!(role_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags() {
        assert!(tag("team", "payments").is_ok());
        assert!(tag("", "x").is_err());
        assert!(tag("aws:created", "x").is_err());
        assert!(tag("k", &"v".repeat(257)).is_err());
        assert!(tag("AWS:Team", "x").is_err(), "the reserved prefix in any case");
        // The provider's own prefix: refresh leaves such tags out of the
        // user's, so one set here would show as a change in every plan.
        assert!(tag("privatelink:owner", "x").unwrap_err().contains("privatelink:"));
        assert!(tag("privatelink-team", "x").is_ok());
        // Lengths are Unicode characters, not bytes: 128 "é" are 256 bytes.
        assert!(tag(&"k".repeat(128), &"v".repeat(256)).is_ok());
        assert!(tag(&"é".repeat(128), &"ü".repeat(256)).is_ok());
        assert!(tag(&"k".repeat(129), "v").unwrap_err().contains("129 characters"));
        assert!(tag(&"é".repeat(129), "v").is_err());
        assert!(tag("k", &"ü".repeat(257)).unwrap_err().contains("257 characters"));
    }

    #[test]
    fn aws_ids() {
        assert!(aws_id("vpc", "vpc-0123456789abcdef0").is_ok());
        assert!(aws_id("subnet", "subnet-12345678").is_ok());
        for bad in ["vpc-", "subnet-12345678", "vpc-XYZ12345", "vpc-123", "vpc0123456789abcdef0"] {
            assert!(aws_id("vpc", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        for good in ["10.0.0.0/16", "0.0.0.0/0", "10.1.2.3/32", "2001:db8::/32"] {
            assert!(cidr(good).is_ok(), "{good}");
        }
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0/8", "300.0.0.0/8", "2001:db8::/129", "x/8"] {
            assert!(cidr(bad).is_err(), "{bad}");
        }
        assert!(cidr("10.0.0.1/16").unwrap_err().contains("10.0.0.0/16"));
    }
}
