//! Finding a model in the local HuggingFace cache by its repository id (`org/name`), with
//! no download: the folders `huggingface_hub` fills when a model is fetched with Python.
//!
//! A cache root holds `models--{org}--{name}/refs/{revision}` (a file with a commit hash)
//! and `models--{org}--{name}/snapshots/{hash}/` (the checkpoint's files). The roots are,
//! in order: `$HF_HUB_CACHE`, `$HF_HOME/hub`, `$XDG_CACHE_HOME/huggingface/hub` and
//! `~/.cache/huggingface/hub`; every root that is set is searched, and a miss lists each
//! place looked at.
//!
//! ```
//! use penzai::io::hf_cache::{CacheRoot, HubCache, RepoId};
//!
//! // A cache as huggingface_hub lays it out.
//! let root = std::env::temp_dir().join(format!("pz-hf-cache-doc-{}", std::process::id()));
//! let repo = root.join("models--acme--tiny");
//! std::fs::create_dir_all(repo.join("refs"))?;
//! std::fs::create_dir_all(repo.join("snapshots/0123abcd"))?;
//! std::fs::write(repo.join("refs/main"), "0123abcd")?;
//!
//! let cache = HubCache::with_roots(vec![CacheRoot::new("HF_HUB_CACHE", &root)]);
//! let id: RepoId = "acme/tiny".parse()?;
//! assert_eq!(cache.resolve(&id)?, repo.join("snapshots/0123abcd"));
//!
//! let err = cache.resolve(&"acme/huge".parse()?).unwrap_err();
//! assert!(err.to_string().contains("models--acme--huge: no such folder"));
//! # std::fs::remove_dir_all(&root)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A HuggingFace repository id with an optional revision: `org/name`, `name` (a few
/// legacy models have no organisation), `org/name@revision` (a branch, a tag or a commit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoId {
    /// The organisation or user, if any.
    pub org: Option<String>,
    /// The repository name.
    pub name: String,
    /// The revision: `main` unless given after `@`.
    pub revision: String,
}

impl RepoId {
    /// The cache folder's name: `models--{org}--{name}`.
    pub fn folder_name(&self) -> String {
        match &self.org {
            Some(org) => format!("models--{org}--{}", self.name),
            None => format!("models--{}", self.name),
        }
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(org) = &self.org {
            write!(f, "{org}/")?;
        }
        write!(f, "{}", self.name)
    }
}

/// Why a text is not a repository id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a HuggingFace repository id (org/name, each part letters, digits, '-', '_' or '.', optionally @revision): {reason}"
)]
pub struct RepoIdError {
    /// The text.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for RepoId {
    type Err = RepoIdError;

    fn from_str(text: &str) -> Result<RepoId, RepoIdError> {
        let bad = |reason| RepoIdError {
            text: text.to_owned(),
            reason,
        };
        let (id, revision) = match text.split_once('@') {
            Some((id, rev)) => (id, rev),
            None => (text, "main"),
        };
        if revision.is_empty() || !revision.chars().all(is_name_char) || revision.contains("..") {
            return Err(bad("the revision must be a branch, tag or commit name"));
        }
        let parts: Vec<&str> = id.split('/').collect();
        let (org, name) = match parts.as_slice() {
            [name] => (None, *name),
            [org, name] => (Some(*org), *name),
            _ => return Err(bad("at most one '/'")),
        };
        for part in org.iter().chain([&name]) {
            if part.is_empty() || part.len() > 96 {
                return Err(bad("each part has 1 to 96 characters"));
            }
            if !part.chars().all(is_name_char) {
                return Err(bad("a character other than letters, digits, '-', '_', '.'"));
            }
            if part.starts_with(['.', '-']) || part.ends_with(['.', '-']) || part.contains("..") {
                return Err(bad("a part starts or ends with '.' or '-', or holds '..'"));
            }
        }
        Ok(RepoId {
            org: org.map(str::to_owned),
            name: name.to_owned(),
            revision: revision.to_owned(),
        })
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// One cache root and the setting it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheRoot {
    /// Where the root came from (`HF_HUB_CACHE`, `HF_HOME/hub`, ...), for messages.
    pub source: String,
    /// The folder holding `models--*` folders.
    pub path: PathBuf,
}

impl CacheRoot {
    /// A root at `path`, described as `source` in messages.
    pub fn new(source: impl Into<String>, path: impl Into<PathBuf>) -> CacheRoot {
        CacheRoot {
            source: source.into(),
            path: path.into(),
        }
    }
}

/// The local HuggingFace cache roots, searched in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubCache {
    roots: Vec<CacheRoot>,
}

/// A repository found in no cache root.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{repo} (revision {revision}) is not in the local HuggingFace cache, and nothing is downloaded; looked in:{}",
    list(.looked)
)]
pub struct CacheMiss {
    /// The repository id.
    pub repo: String,
    /// The revision looked for.
    pub revision: String,
    /// Each place looked at and what was missing there.
    pub looked: Vec<String>,
}

fn list(looked: &[String]) -> String {
    if looked.is_empty() {
        return " nowhere (no cache root is set: HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, HOME)"
            .to_owned();
    }
    looked.iter().map(|l| format!("\n  - {l}")).collect()
}

impl HubCache {
    /// The roots the process's environment names (see the [module docs](self)).
    pub fn from_env() -> HubCache {
        HubCache::from_vars(|name| std::env::var_os(name))
    }

    /// The roots that the variables read by `var` name: `HF_HUB_CACHE`, `HF_HOME/hub`,
    /// `XDG_CACHE_HOME/huggingface/hub`, `HOME/.cache/huggingface/hub` (unset or empty
    /// variables are skipped, and a root named twice is searched once).
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> HubCache {
        let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let mut roots = Vec::new();
        if let Some(p) = set("HF_HUB_CACHE") {
            roots.push(CacheRoot::new("HF_HUB_CACHE", p));
        }
        if let Some(p) = set("HF_HOME") {
            roots.push(CacheRoot::new("HF_HOME/hub", p.join("hub")));
        }
        if let Some(p) = set("XDG_CACHE_HOME") {
            roots.push(CacheRoot::new(
                "XDG_CACHE_HOME/huggingface/hub",
                p.join("huggingface/hub"),
            ));
        }
        if let Some(p) = set("HOME").or_else(|| set("USERPROFILE")) {
            roots.push(CacheRoot::new(
                "~/.cache/huggingface/hub",
                p.join(".cache/huggingface/hub"),
            ));
        }
        let mut unique: Vec<CacheRoot> = Vec::with_capacity(roots.len());
        for root in roots {
            if !unique.iter().any(|r| r.path == root.path) {
                unique.push(root);
            }
        }
        HubCache { roots: unique }
    }

    /// Exactly these roots.
    pub fn with_roots(roots: Vec<CacheRoot>) -> HubCache {
        HubCache { roots }
    }

    /// The roots, in search order.
    pub fn roots(&self) -> &[CacheRoot] {
        &self.roots
    }

    /// The snapshot folder of `repo` at its revision, from the first root that has it.
    pub fn resolve(&self, repo: &RepoId) -> Result<PathBuf, CacheMiss> {
        let mut looked = Vec::new();
        for root in &self.roots {
            match snapshot_in(&root.path, repo) {
                Ok(dir) => return Ok(dir),
                Err(why) => {
                    looked.push(format!("{} ({}): {why}", root.source, root.path.display()))
                }
            }
        }
        Err(CacheMiss {
            repo: repo.to_string(),
            revision: repo.revision.clone(),
            looked,
        })
    }
}

/// The snapshot of `repo` under `root`, or what was missing.
fn snapshot_in(root: &Path, repo: &RepoId) -> Result<PathBuf, String> {
    let folder = root.join(repo.folder_name());
    if !folder.is_dir() {
        return Err(format!("{}: no such folder", folder.display()));
    }
    let reference = folder.join("refs").join(&repo.revision);
    let commit = match std::fs::read_to_string(&reference) {
        Ok(text) => {
            let commit = text.trim();
            // The file names a folder: only a plain name may come from it.
            if commit.is_empty() || !commit.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!(
                    "{}: holds {:?}, not a commit hash",
                    reference.display(),
                    text.chars().take(64).collect::<String>()
                ));
            }
            commit.to_owned()
        }
        // A commit hash given as the revision names its snapshot directly.
        Err(_) if is_commit_hash(&repo.revision) => repo.revision.clone(),
        Err(e) => return Err(format!("{}: {e}", reference.display())),
    };
    let snapshot = folder.join("snapshots").join(&commit);
    if !snapshot.is_dir() {
        return Err(format!("{}: no such folder", snapshot.display()));
    }
    Ok(snapshot)
}

fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// What `--model ARG` names: an existing folder as it is; otherwise, if `arg` is a
/// repository id, its snapshot in the local cache ([`HubCache::from_env`]).
pub fn resolve_model(arg: &str) -> Result<PathBuf, ModelNotFound> {
    resolve_model_in(arg, &HubCache::from_env())
}

/// Like [`resolve_model`], searching `cache`.
pub fn resolve_model_in(arg: &str, cache: &HubCache) -> Result<PathBuf, ModelNotFound> {
    let path = Path::new(arg);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    match arg.parse::<RepoId>() {
        Ok(repo) => cache
            .resolve(&repo)
            .map_err(|miss| ModelNotFound::NotCached {
                path: arg.to_owned(),
                miss,
            }),
        Err(_) => Err(ModelNotFound::NoSuchPath {
            path: arg.to_owned(),
        }),
    }
}

/// Why `--model ARG` names no model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelNotFound {
    /// Not a path that exists, and not a repository id.
    #[error("{path}: no such file or folder (and not a HuggingFace repository id)")]
    NoSuchPath {
        /// The argument.
        path: String,
    },
    /// A repository id the local cache does not have.
    #[error("no folder {path:?} here, and {miss}")]
    NotCached {
        /// The argument.
        path: String,
        /// Where the cache was searched.
        miss: CacheMiss,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_parse_with_and_without_org_and_revision() {
        let id: RepoId = "meta-llama/Llama-3.2-1B".parse().unwrap();
        assert_eq!(id.org.as_deref(), Some("meta-llama"));
        assert_eq!(id.folder_name(), "models--meta-llama--Llama-3.2-1B");
        assert_eq!(id.revision, "main");
        let id: RepoId = "gpt2@v1.0".parse().unwrap();
        assert_eq!(
            (id.folder_name(), id.revision.as_str()),
            ("models--gpt2".into(), "v1.0")
        );
        assert_eq!(id.to_string(), "gpt2");
    }

    #[test]
    fn paths_and_traversal_are_not_repo_ids() {
        for bad in [
            "",
            "/abs/path",
            "a/b/c",
            "../x",
            "a/..",
            "org/.hidden",
            "org/name-",
            "a b/c",
            "org/name@",
            "org/name@../../x",
            "org/ñame",
        ] {
            assert!(bad.parse::<RepoId>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn roots_follow_the_environment_in_order_without_repeats() {
        let vars = |name: &str| -> Option<OsString> {
            match name {
                "HF_HUB_CACHE" => Some("/c/hub".into()),
                "HF_HOME" => Some("/h".into()),
                "XDG_CACHE_HOME" => Some("".into()),
                "HOME" => Some("/home/u".into()),
                _ => None,
            }
        };
        let cache = HubCache::from_vars(vars);
        let roots: Vec<(&str, &Path)> = cache
            .roots()
            .iter()
            .map(|r| (r.source.as_str(), r.path.as_path()))
            .collect();
        assert_eq!(
            roots,
            [
                ("HF_HUB_CACHE", Path::new("/c/hub")),
                ("HF_HOME/hub", Path::new("/h/hub")),
                (
                    "~/.cache/huggingface/hub",
                    Path::new("/home/u/.cache/huggingface/hub")
                ),
            ]
        );
        let same = HubCache::from_vars(|n| {
            (n == "HF_HUB_CACHE" || n == "HF_HOME").then(|| {
                if n == "HF_HOME" {
                    "/x".into()
                } else {
                    "/x/hub".into()
                }
            })
        });
        assert_eq!(same.roots().len(), 1);
    }
}
