//! The release binary for linux_amd64 starts on old Linux: built against
//! glibc 2.17 (scripts/build-portable, cargo-zigbuild), it must need no
//! glibc symbol version above GLIBC_2.17. The version needs are read from
//! the binary's ELF `.gnu.version_r` section, as `objdump -T` lists them.

use std::path::Path;

/// The highest glibc a binary built against glibc 2.17 may ask for.
const OLDEST: (u32, u32) = (2, 17);

/// Every symbol version an ELF64 little-endian binary needs, by library:
/// (file, version name), e.g. ("libc.so.6", "GLIBC_2.17").
fn version_needs(elf: &[u8]) -> Vec<(String, String)> {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!((elf[4], elf[5]), (2, 1), "ELF64 little-endian only");
    let (shoff, shentsize, shnum) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c));
    let section = |i: usize| {
        let h = shoff + i * shentsize;
        // (type, offset, link, info = entry count)
        (u32_at(h + 4), u64_at(h + 0x18), u32_at(h + 0x28), u32_at(h + 0x2c))
    };
    const SHT_GNU_VERNEED: usize = 0x6fff_fffe;
    let name_at = |strtab: usize, o: usize| {
        let start = strtab + o;
        let end = elf[start..].iter().position(|b| *b == 0).map(|n| start + n).unwrap();
        String::from_utf8_lossy(&elf[start..end]).to_string()
    };
    let mut out = vec![];
    for i in 0..shnum {
        let (kind, offset, link, count) = section(i);
        if kind != SHT_GNU_VERNEED {
            continue;
        }
        let strtab = section(link).1;
        let mut need = offset;
        for _ in 0..count {
            // Elf64_Verneed: version u16, cnt u16, file u32, aux u32, next u32.
            let (cnt, file, aux, next) = (u16_at(need + 2), u32_at(need + 4), u32_at(need + 8), u32_at(need + 12));
            let library = name_at(strtab, file);
            let mut entry = need + aux;
            for _ in 0..cnt {
                // Elf64_Vernaux: hash u32, flags u16, other u16, name u32, next u32.
                out.push((library.clone(), name_at(strtab, u32_at(entry + 8))));
                entry += u32_at(entry + 12);
            }
            need += next;
        }
    }
    out
}

/// (2, 17) from "GLIBC_2.17"; None for other version names.
fn glibc_version(name: &str) -> Option<(u32, u32)> {
    let mut parts = name.strip_prefix("GLIBC_")?.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
}

fn highest_glibc(binary: &Path) -> ((u32, u32), Vec<String>) {
    let needs = version_needs(&std::fs::read(binary).unwrap());
    let mut above: Vec<String> =
        needs.iter().filter(|(_, v)| glibc_version(v).is_some_and(|g| g > OLDEST)).map(|(l, v)| format!("{v} ({l})")).collect();
    above.sort();
    above.dedup();
    (needs.iter().filter_map(|(_, v)| glibc_version(v)).max().unwrap_or((0, 0)), above)
}

/// The reader on a binary at hand: the debug build links glibc, so it needs
/// GLIBC_2.2.5 (x86_64's first) at least, as objdump -T shows.
#[test]
fn reads_the_glibc_versions_a_binary_needs() {
    let needs = version_needs(&std::fs::read(env!("CARGO_BIN_EXE_terraform-provider-privatelink")).unwrap());
    assert!(needs.iter().any(|(l, v)| l == "libc.so.6" && v == "GLIBC_2.2.5"), "{needs:?}");
    assert_eq!(glibc_version("GLIBC_2.17"), Some((2, 17)));
    assert_eq!(glibc_version("GLIBC_2.2.5"), Some((2, 2)));
    assert_eq!(glibc_version("GCC_3.0"), None);
}

/// scripts/build-portable runs this on its build (PRIVATELINK_PORTABLE_BINARY).
#[test]
#[ignore = "needs the glibc 2.17 release build: scripts/build-portable runs it"]
fn the_portable_build_needs_no_glibc_above_2_17() {
    let binary = std::env::var("PRIVATELINK_PORTABLE_BINARY").expect("PRIVATELINK_PORTABLE_BINARY names the build to check");
    let (highest, above) = highest_glibc(Path::new(&binary));
    println!("{binary}: highest glibc symbol version GLIBC_{}.{}", highest.0, highest.1);
    assert!(above.is_empty(), "{binary} needs glibc newer than 2.17: {above:?}");
}
