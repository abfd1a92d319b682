//! A function's code: a deployment package (zip) built from a directory or
//! read from a file, and the hash Lambda reports for it. Pure and
//! deterministic; no AWS here.
//!
//! What goes into a zip built from a directory:
//! - every regular file under the directory, at its path relative to it
//!   with `/` separators, in byte order of that path (never the order the
//!   filesystem lists them in);
//! - no directory entries (unzip and Lambda make the directories a file
//!   needs);
//! - symlinks followed: a link stores what it points to under the link's
//!   name. A link that leads outside the directory, or back into one of
//!   its own parents (a cycle), is an error;
//! - skipped, on purpose: anything named `.git` (a repository, or the
//!   `.git` file of a worktree or submodule) and `__pycache__` directories
//!   (bytecode the Python runtime writes again). Nothing else is skipped:
//!   a file that cannot be read, or a socket, fifo or device, is an error
//!   naming its path;
//! - every entry dated 1980-01-01 00:00 (the zip format's earliest date),
//!   mode 0644, or 0755 when the owner may execute the file (a `bootstrap`
//!   for a custom runtime must be executable), deflated at level 6.
//!
//! So the same content always gives byte-identical zips and the same
//! `sha256`, whatever the files' times or the filesystem's order.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Lambda takes at most 50 MB of zip in the request (ZipFile); larger
/// packages have to go through S3.
pub const MAX_ZIP_BYTES: usize = 50 * 1024 * 1024;
/// Lambda's limit on a package's unzipped size.
pub const MAX_UNZIPPED_BYTES: u64 = 250 * 1024 * 1024;

/// Directory or file names never packaged (see the module doc).
const SKIPPED_NAMES: [&str; 1] = [".git"];
const SKIPPED_DIRS: [&str; 1] = ["__pycache__"];

/// Deflate level, fixed so that the bytes do not move with a library default.
const DEFLATE_LEVEL: i64 = 6;

/// A deployment package and its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Code {
    pub zip: Vec<u8>,
    /// Base64 of the SHA-256 of `zip`: exactly what Lambda reports as
    /// CodeSha256 for this package.
    pub sha256: String,
}

impl Code {
    fn new(zip: Vec<u8>) -> Code {
        let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
        Code { zip, sha256 }
    }
}

// By hand: the zip's bytes are no use in a log line.
impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Code").field("zip", &format_args!("<{} bytes>", self.zip.len())).field("sha256", &self.sha256).finish()
    }
}

/// Zips `dir` deterministically (see the module doc).
pub fn from_dir(dir: &Path) -> Result<Code, String> {
    let files = list_files(dir)?;
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .last_modified_time(DateTime::DEFAULT)
        .large_file(false);
    for file in &files {
        let content = read(&file.source)?;
        writer
            .start_file(file.name.as_str(), options.unix_permissions(file.mode))
            .map_err(|e| format!("cannot add {} to the zip of {}: {e}", file.source.display(), dir.display()))?;
        writer.write_all(&content).map_err(|e| format!("cannot add {} to the zip of {}: {e}", file.source.display(), dir.display()))?;
    }
    let zip = writer.finish().map_err(|e| format!("cannot finish the zip of {}: {e}", dir.display()))?.into_inner();
    check_zip_size(&zip, dir)?;
    Ok(Code::new(zip))
}

/// Reads an existing zip file as it is (its bytes are what Lambda gets
/// and hashes). Only the zip signature is checked, not the whole archive.
pub fn from_file(path: &Path) -> Result<Code, String> {
    let zip = read(path)?;
    // A local file header starts a non-empty archive; an end of central
    // directory record starts an empty one.
    if !(zip.starts_with(b"PK\x03\x04") || zip.starts_with(b"PK\x05\x06")) {
        return Err(format!("{} is not a zip file: it does not start with a zip signature (PK\\x03\\x04)", path.display()));
    }
    check_zip_size(&zip, path)?;
    Ok(Code::new(zip))
}

/// Hex SHA-256 over the (relative path, mode, content) of every file
/// `from_dir` would package, in the same order.
///
/// Why not the zip's hash: this is for plan time, where it only has to
/// tell whether the code changed. It reads the files but compresses
/// nothing, and it does not depend on the zip or deflate library: a
/// provider upgrade that compresses a byte differently must not show up as
/// a code change in every plan.
pub fn content_hash(dir: &Path) -> Result<String, String> {
    let files = list_files(dir)?;
    let mut hasher = Sha256::new();
    // A version line, so that a future change of this encoding is a
    // deliberate, visible change of every hash.
    hasher.update(b"privatelink code v1\n");
    for file in &files {
        let content = read(&file.source)?;
        // Lengths before variable parts keep the encoding unambiguous.
        hasher.update((file.name.len() as u64).to_le_bytes());
        hasher.update(file.name.as_bytes());
        hasher.update(file.mode.to_le_bytes());
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    Ok(hex(&hasher.finalize()))
}

/// One file to package.
#[derive(Debug, Clone, PartialEq, Eq)]
struct File {
    /// Path relative to the packaged directory, `/` separated.
    name: String,
    /// Where the content is read from (the link's target for a symlink).
    source: PathBuf,
    /// 0o644 or 0o755.
    mode: u32,
}

/// Every file under `dir`, sorted by name, after the rules of the module doc.
fn list_files(dir: &Path) -> Result<Vec<File>, String> {
    let root = fs::canonicalize(dir).map_err(|e| format!("cannot read the directory {}: {e}", dir.display()))?;
    if !root.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let mut walk = Walk { root: root.clone(), shown_root: dir.to_path_buf(), stack: vec![root.clone()], files: BTreeMap::new(), total: 0 };
    walk.visit(&root, "")?;
    if walk.files.is_empty() {
        return Err(format!("no files to package in {} (.git and __pycache__ are skipped)", dir.display()));
    }
    Ok(walk.files.into_values().collect())
}

struct Walk {
    /// The packaged directory, canonical: links must stay inside it.
    root: PathBuf,
    /// The directory as the caller named it, for messages.
    shown_root: PathBuf,
    /// Canonical directories being visited, root first: a link back into
    /// one of them is a cycle.
    stack: Vec<PathBuf>,
    /// By name, so the order is the names' byte order.
    files: BTreeMap<String, File>,
    /// Unzipped bytes so far.
    total: u64,
}

impl Walk {
    /// Visits the directory at `real` (canonical), whose name in the zip is
    /// `prefix` ("" for the root, else ending in '/').
    fn visit(&mut self, real: &Path, prefix: &str) -> Result<(), String> {
        let shown = self.shown(prefix);
        let entries = fs::read_dir(real).map_err(|e| format!("cannot read the directory {}: {e}", shown.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read the directory {}: {e}", shown.display()))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                return Err(format!(
                    "{} has a name that is not UTF-8; zip entry names for Lambda must be UTF-8",
                    shown.join(&file_name).display()
                ));
            };
            self.visit_entry(&real.join(name), &format!("{prefix}{name}"))?;
        }
        Ok(())
    }

    /// One directory entry: `path` as listed, `name` its name in the zip.
    fn visit_entry(&mut self, path: &Path, name: &str) -> Result<(), String> {
        let shown = self.shown(name);
        let base = name.rsplit('/').next().unwrap_or(name);
        if SKIPPED_NAMES.contains(&base) {
            return Ok(());
        }
        let link = fs::symlink_metadata(path).map_err(|e| format!("cannot read {}: {e}", shown.display()))?;
        // Follows symlinks; a dangling link fails here.
        let meta = fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", shown.display()))?;
        let target = if link.file_type().is_symlink() {
            let target = fs::canonicalize(path).map_err(|e| format!("cannot follow the symlink {}: {e}", shown.display()))?;
            if !target.starts_with(&self.root) {
                return Err(format!(
                    "the symlink {} leads outside {} (to {}): only files inside the directory are packaged",
                    shown.display(),
                    self.shown_root.display(),
                    target.display()
                ));
            }
            target
        } else {
            path.to_path_buf()
        };
        if meta.is_dir() {
            if SKIPPED_DIRS.contains(&base) {
                return Ok(());
            }
            self.visit_dir(&target, name, &shown)
        } else if meta.is_file() {
            self.total += meta.len();
            if self.total > MAX_UNZIPPED_BYTES {
                return Err(format!(
                    "{} holds more than {} MB of files (at {}); Lambda takes at most {} MB unzipped",
                    self.shown_root.display(),
                    MAX_UNZIPPED_BYTES >> 20,
                    shown.display(),
                    MAX_UNZIPPED_BYTES >> 20
                ));
            }
            let file = File { name: name.to_string(), source: target, mode: mode(&meta) };
            self.files.insert(file.name.clone(), file);
            Ok(())
        } else {
            Err(format!("{} is neither a file nor a directory (a socket, fifo or device?): it cannot be packaged", shown.display()))
        }
    }

    /// A directory to descend into, `real` its canonical path.
    fn visit_dir(&mut self, real: &Path, name: &str, shown: &Path) -> Result<(), String> {
        let real = fs::canonicalize(real).map_err(|e| format!("cannot read the directory {}: {e}", shown.display()))?;
        if self.stack.contains(&real) {
            return Err(format!("the symlink {} leads back into {} (a cycle)", shown.display(), real.display()));
        }
        self.stack.push(real.clone());
        let result = self.visit(&real, &format!("{name}/"));
        self.stack.pop();
        result
    }

    /// A zip name as a path under the directory the caller named.
    fn shown(&self, name: &str) -> PathBuf {
        if name.is_empty() {
            self.shown_root.clone()
        } else {
            self.shown_root.join(name.trim_end_matches('/'))
        }
    }
}

/// 0o755 when the owner may execute the file, else 0o644: the only two
/// modes worth keeping (group and other bits of a checkout vary by umask).
#[cfg(unix)]
fn mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o100 != 0 {
        0o755
    } else {
        0o644
    }
}

/// No executable bit to read off other systems.
#[cfg(not(unix))]
fn mode(_meta: &fs::Metadata) -> u32 {
    0o644
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn check_zip_size(zip: &[u8], source: &Path) -> Result<(), String> {
    if zip.len() > MAX_ZIP_BYTES {
        return Err(format!(
            "the zip of {} is {:.1} MB; Lambda takes at most {} MB in a direct upload",
            source.display(),
            zip.len() as f64 / (1024.0 * 1024.0),
            MAX_ZIP_BYTES >> 20
        ));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn write(dir: &Path, name: &str, content: &[u8]) {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn set_mtime(dir: &Path, name: &str, t: SystemTime) {
        fs::File::options().write(true).open(dir.join(name)).unwrap().set_modified(t).unwrap();
    }

    /// Entry names and unix modes of a zip, in archive order.
    fn entries(code: &Code) -> Vec<(String, u32)> {
        let mut archive = zip::ZipArchive::new(Cursor::new(code.zip.clone())).unwrap();
        (0..archive.len())
            .map(|i| {
                let f = archive.by_index(i).unwrap();
                (f.name().to_string(), f.unix_mode().unwrap() & 0o777)
            })
            .collect()
    }

    fn names(code: &Code) -> Vec<String> {
        entries(code).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn same_content_gives_the_same_bytes_whatever_times_and_order() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let files: [(&str, &[u8]); 3] =
            [("index.py", b"def handler(e, c):\n    return 1\n"), ("lib/util.py", b"X = 1\n"), ("lib/z.txt", b"z")];
        for (name, content) in files {
            write(a.path(), name, content);
        }
        for (name, content) in files.iter().rev() {
            write(b.path(), name, content);
        }
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        set_mtime(b.path(), "index.py", old);
        set_mtime(b.path(), "lib/util.py", old + Duration::from_secs(77));

        let (za, zb) = (from_dir(a.path()).unwrap(), from_dir(b.path()).unwrap());
        assert_eq!(za.zip, zb.zip);
        assert_eq!(za.sha256, zb.sha256);
        assert_eq!(content_hash(a.path()).unwrap(), content_hash(b.path()).unwrap());
        assert_eq!(names(&za), vec!["index.py", "lib/util.py", "lib/z.txt"]);
        // Built again: still the same bytes.
        assert_eq!(from_dir(a.path()).unwrap(), za);
    }

    #[test]
    fn sha256_is_base64_of_the_zip_digest_as_lambda_reports_it() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "index.py", b"print(1)\n");
        let code = from_dir(d.path()).unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&code.zip));
        assert_eq!(code.sha256, expected);
        assert_eq!(code.sha256.len(), 44);
        assert!(format!("{code:?}").contains("bytes>"), "Debug must not dump the zip");
    }

    #[test]
    fn one_changed_byte_changes_both_hashes() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "index.py", b"value = 1\n");
        let (zip1, hash1) = (from_dir(d.path()).unwrap(), content_hash(d.path()).unwrap());
        write(d.path(), "index.py", b"value = 2\n");
        let (zip2, hash2) = (from_dir(d.path()).unwrap(), content_hash(d.path()).unwrap());
        assert_ne!(zip1.sha256, zip2.sha256);
        assert_ne!(hash1, hash2);
        assert_eq!(hash1.len(), 64);
    }

    #[test]
    fn a_renamed_file_changes_the_content_hash() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "a.py", b"x");
        let before = content_hash(d.path()).unwrap();
        fs::rename(d.path().join("a.py"), d.path().join("b.py")).unwrap();
        assert_ne!(before, content_hash(d.path()).unwrap());
    }

    #[test]
    fn an_empty_directory_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("empty")).unwrap();
        let e = from_dir(d.path()).unwrap_err();
        assert!(e.contains("no files") && e.contains(&d.path().display().to_string()), "{e}");
        assert!(content_hash(d.path()).unwrap_err().contains("no files"));
    }

    #[test]
    fn a_missing_directory_is_named() {
        let d = tempfile::tempdir().unwrap();
        let missing = d.path().join("nope");
        let e = from_dir(&missing).unwrap_err();
        assert!(e.contains("nope"), "{e}");
        write(d.path(), "file", b"x");
        assert!(from_dir(&d.path().join("file")).unwrap_err().contains("not a directory"));
    }

    #[test]
    fn git_and_pycache_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "index.py", b"x");
        write(d.path(), ".git/config", b"[core]");
        write(d.path(), "lib/.git", b"gitdir: ../.git/modules/lib");
        write(d.path(), "lib/mod.py", b"y");
        write(d.path(), "__pycache__/index.cpython-312.pyc", b"\0");
        write(d.path(), "lib/__pycache__/mod.cpython-312.pyc", b"\0");
        write(d.path(), ".env.example", b"kept");
        assert_eq!(names(&from_dir(d.path()).unwrap()), vec![".env.example", "index.py", "lib/mod.py"]);

        let only_git = tempfile::tempdir().unwrap();
        write(only_git.path(), ".git/HEAD", b"ref");
        assert!(from_dir(only_git.path()).unwrap_err().contains("no files"));
    }

    #[cfg(unix)]
    #[test]
    fn the_executable_bit_is_kept_and_nothing_else() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "bootstrap", b"#!/bin/sh\n");
        write(d.path(), "data.txt", b"d");
        write(d.path(), "private.txt", b"p");
        fs::set_permissions(d.path().join("bootstrap"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(d.path().join("data.txt"), fs::Permissions::from_mode(0o664)).unwrap();
        fs::set_permissions(d.path().join("private.txt"), fs::Permissions::from_mode(0o600)).unwrap();
        let code = from_dir(d.path()).unwrap();
        assert_eq!(
            entries(&code),
            vec![("bootstrap".to_string(), 0o755), ("data.txt".to_string(), 0o644), ("private.txt".to_string(), 0o644)]
        );
        let before = content_hash(d.path()).unwrap();
        fs::set_permissions(d.path().join("data.txt"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(before, content_hash(d.path()).unwrap(), "the mode is part of the content hash");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_are_followed() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "shared/util.py", b"U");
        write(d.path(), "index.py", b"I");
        std::os::unix::fs::symlink("shared/util.py", d.path().join("util.py")).unwrap();
        std::os::unix::fs::symlink("shared", d.path().join("lib")).unwrap();
        let code = from_dir(d.path()).unwrap();
        assert_eq!(names(&code), vec!["index.py", "lib/util.py", "shared/util.py", "util.py"]);
        let mut archive = zip::ZipArchive::new(Cursor::new(code.zip)).unwrap();
        let mut content = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("util.py").unwrap(), &mut content).unwrap();
        assert_eq!(content, "U");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_cycle_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "a/index.py", b"x");
        std::os::unix::fs::symlink("..", d.path().join("a/up")).unwrap();
        let e = from_dir(d.path()).unwrap_err();
        assert!(e.contains("cycle") && e.contains("up"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_directory_is_an_error() {
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret", b"s");
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "index.py", b"x");
        std::os::unix::fs::symlink(outside.path().join("secret"), d.path().join("secret")).unwrap();
        let e = from_dir(d.path()).unwrap_err();
        assert!(e.contains("outside") && e.contains("secret"), "{e}");

        let dangling = tempfile::tempdir().unwrap();
        write(dangling.path(), "index.py", b"x");
        std::os::unix::fs::symlink("gone.py", dangling.path().join("link.py")).unwrap();
        assert!(from_dir(dangling.path()).unwrap_err().contains("link.py"));
    }

    #[test]
    fn from_file_reads_a_zip_as_is() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "src/index.py", b"x");
        let built = from_dir(&d.path().join("src")).unwrap();
        fs::write(d.path().join("code.zip"), &built.zip).unwrap();
        assert_eq!(from_file(&d.path().join("code.zip")).unwrap(), built);

        // An empty archive is only its end record.
        let mut empty = b"PK\x05\x06".to_vec();
        empty.extend([0u8; 18]);
        fs::write(d.path().join("empty.zip"), &empty).unwrap();
        assert_eq!(from_file(&d.path().join("empty.zip")).unwrap().zip, empty);
    }

    #[test]
    fn from_file_refuses_what_is_not_a_zip() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "index.py", b"print(1)");
        let e = from_file(&d.path().join("index.py")).unwrap_err();
        assert!(e.contains("not a zip") && e.contains("index.py"), "{e}");
        let e = from_file(&d.path().join("missing.zip")).unwrap_err();
        assert!(e.contains("missing.zip"), "{e}");
    }
}
