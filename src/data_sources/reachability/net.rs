//! Address arithmetic and network ACL evaluation (pure): what the path
//! checks of `analyse` are built from.

use crate::parts::network_acl::{Acl, Entry};

/// An IPv4 CIDR block as (first address, prefix length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    base: u32,
    len: u8,
}

/// All of IPv4: where a public AWS service's addresses are assumed to be
/// (its AWS-managed ranges are not read).
pub const ANYWHERE: &str = "0.0.0.0/0";

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, len) = s.split_once('/')?;
        let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
        let octets: Vec<u8> = addr.split('.').map(|o| o.parse().ok()).collect::<Option<_>>()?;
        let [a, b, c, d] = octets[..] else { return None };
        let mask = Cidr::mask(len);
        Some(Cidr { base: u32::from_be_bytes([a, b, c, d]) & mask, len })
    }

    fn mask(len: u8) -> u32 {
        if len == 0 {
            0
        } else {
            u32::MAX << (32 - len)
        }
    }

    /// Whether every address of `inner` is in `self`.
    pub fn contains(&self, inner: &Cidr) -> bool {
        self.len <= inner.len && inner.base & Cidr::mask(self.len) == self.base
    }

    /// Whether the two share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }
}

/// Whether CIDR text `outer` covers every address of `inner` (false when
/// either does not parse).
pub fn covers(outer: &str, inner: &str) -> bool {
    matches!((Cidr::parse(outer), Cidr::parse(inner)), (Some(o), Some(i)) if o.contains(&i))
}

/// Ports a TCP client's return traffic comes back on. Lambda functions use
/// ports 1024-65535 (the VPC User Guide's network ACL page lists the
/// ephemeral range by client), so an ACL must allow all of them.
pub const EPHEMERAL: (i32, i32) = (1024, 65535);
pub const HTTPS: (i32, i32) = (443, 443);

/// Why an ACL stops some of the traffic: the entry that denies it (None:
/// the final `*` rule, no entry allowed it) and the first port denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub rule_number: Option<i32>,
    pub port: i32,
}

/// Whether `acl` lets all TCP traffic on `ports` through to or from
/// `peer` (a CIDR), outbound when `egress`. Entries are taken in rule
/// order and the first that applies decides, as AWS evaluates them; an
/// entry whose block only partly covers `peer` decides for some of its
/// addresses, so a partial deny blocks and a partial allow is passed over.
pub fn acl_passes(acl: &Acl, egress: bool, ports: (i32, i32), peer: &str) -> Result<(), Blocked> {
    let Some(peer) = Cidr::parse(peer) else { return Ok(()) };
    let mut entries: Vec<&Entry> = acl.entries.iter().filter(|e| e.egress == egress && carries_tcp(e)).collect();
    entries.sort_by_key(|e| e.rule_number);
    // Only the ports where an entry starts or ends can change the outcome.
    let mut probes: Vec<i32> = vec![ports.0];
    for e in &entries {
        if let Some((from, to)) = e.ports {
            probes.extend([from, to, to.saturating_add(1), from.saturating_sub(1)]);
        }
    }
    probes.retain(|p| (ports.0..=ports.1).contains(p));
    probes.sort();
    probes.dedup();
    for port in probes {
        decide(&entries, port, &peer)?;
    }
    Ok(())
}

fn carries_tcp(e: &Entry) -> bool {
    e.protocol == "-1" || e.protocol == "6" || e.protocol.eq_ignore_ascii_case("tcp")
}

fn decide(entries: &[&Entry], port: i32, peer: &Cidr) -> Result<(), Blocked> {
    for e in entries {
        if e.ports.is_some_and(|(from, to)| !(from..=to).contains(&port)) {
            continue;
        }
        let Some(block) = Cidr::parse(&e.cidr) else { continue };
        // AWS's own last entry (32767, the `*` rule) denies everything.
        let number = (e.rule_number < 32767).then_some(e.rule_number);
        if block.contains(peer) {
            return if e.allow { Ok(()) } else { Err(Blocked { rule_number: number, port }) };
        }
        if block.overlaps(peer) && !e.allow {
            return Err(Blocked { rule_number: number, port });
        }
    }
    Err(Blocked { rule_number: None, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rule_number: i32, egress: bool, ports: Option<(i32, i32)>, cidr: &str, allow: bool) -> Entry {
        Entry { rule_number, egress, protocol: "6".into(), ports, cidr: cidr.into(), allow }
    }

    fn acl(entries: Vec<Entry>) -> Acl {
        Acl { id: "acl-1".into(), is_default: false, subnet_ids: vec![], entries }
    }

    #[test]
    fn cidrs_contain_and_overlap() {
        assert!(covers("10.0.0.0/16", "10.0.3.0/24"));
        assert!(covers("0.0.0.0/0", "10.0.3.0/24"));
        assert!(!covers("10.0.3.0/24", "10.0.0.0/16"));
        assert!(!covers("10.1.0.0/16", "10.0.3.0/24"));
        assert!(covers("10.0.3.7/24", "10.0.3.0/24"), "host bits are ignored, as AWS does");
        assert!(Cidr::parse("10.0.0.0/24").unwrap().overlaps(&Cidr::parse("10.0.0.0/16").unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none() && Cidr::parse("10.0.0/24").is_none());
    }

    #[test]
    fn the_first_entry_in_rule_order_decides() {
        let a = acl(vec![entry(200, true, None, "0.0.0.0/0", true), entry(100, true, Some((443, 443)), "10.0.2.0/24", false)]);
        assert_eq!(acl_passes(&a, true, HTTPS, "10.0.2.0/24"), Err(Blocked { rule_number: Some(100), port: 443 }));
        assert_eq!(acl_passes(&a, true, HTTPS, "10.0.3.0/24"), Ok(()));
        // Inbound has no entry: the final rule denies.
        assert_eq!(acl_passes(&a, false, HTTPS, "10.0.3.0/24"), Err(Blocked { rule_number: None, port: 443 }));
    }

    #[test]
    fn return_traffic_needs_the_whole_ephemeral_range() {
        let narrow = acl(vec![entry(100, false, Some((32768, 65535)), "0.0.0.0/0", true)]);
        assert_eq!(acl_passes(&narrow, false, EPHEMERAL, "10.0.2.0/24"), Err(Blocked { rule_number: None, port: 1024 }));
        let full = acl(vec![entry(100, false, Some((1024, 65535)), "10.0.0.0/16", true)]);
        assert_eq!(acl_passes(&full, false, EPHEMERAL, "10.0.2.0/24"), Ok(()));
        let hole = acl(vec![entry(90, false, Some((2000, 2000)), "10.0.2.0/24", false), entry(100, false, None, "0.0.0.0/0", true)]);
        assert_eq!(acl_passes(&hole, false, EPHEMERAL, "10.0.2.0/24"), Err(Blocked { rule_number: Some(90), port: 2000 }));
    }

    #[test]
    fn a_partial_deny_blocks_and_a_partial_allow_does_not_pass() {
        let a = acl(vec![entry(100, true, None, "10.0.2.0/25", false), entry(200, true, None, "0.0.0.0/0", true)]);
        assert_eq!(acl_passes(&a, true, HTTPS, "10.0.2.0/24"), Err(Blocked { rule_number: Some(100), port: 443 }));
        let b = acl(vec![entry(100, true, None, "10.0.2.0/25", true)]);
        assert_eq!(acl_passes(&b, true, HTTPS, "10.0.2.0/24"), Err(Blocked { rule_number: None, port: 443 }));
    }

    #[test]
    fn all_traffic_entries_count_and_other_protocols_do_not() {
        let mut udp = entry(100, true, None, "0.0.0.0/0", true);
        udp.protocol = "17".into();
        let mut all = entry(200, true, None, "0.0.0.0/0", true);
        all.protocol = "-1".into();
        assert_eq!(acl_passes(&acl(vec![udp.clone()]), true, HTTPS, "10.0.2.0/24"), Err(Blocked { rule_number: None, port: 443 }));
        assert_eq!(acl_passes(&acl(vec![udp, all]), true, HTTPS, "10.0.2.0/24"), Ok(()));
    }
}
