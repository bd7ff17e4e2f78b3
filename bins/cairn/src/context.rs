//! Finding the repository and its key.

use crate::cli::Global;
use anyhow::{bail, Context, Result};
use cairn::{InitOptions, Repository, Secret};
use std::io::IsTerminal;
use std::path::PathBuf;

/// The default local repository and its key file.
pub struct DefaultRepo {
    pub repo: PathBuf,
    pub key: PathBuf,
}

/// `$XDG_DATA_HOME/cairn/repository` and `$XDG_CONFIG_HOME/cairn/repository.key`
/// (defaults `~/.local/share` and `~/.config`).
pub fn default_repo() -> Result<DefaultRepo> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let base = |var: &str, fallback: &str| -> Result<PathBuf> {
        match std::env::var_os(var).filter(|v| !v.is_empty()) {
            Some(v) => Ok(PathBuf::from(v)),
            None => Ok(home
                .clone()
                .context("HOME is not set; pass --repo")?
                .join(fallback)),
        }
    };
    Ok(DefaultRepo {
        repo: base("XDG_DATA_HOME", ".local/share")?.join("cairn/repository"),
        key: base("XDG_CONFIG_HOME", ".config")?.join("cairn/repository.key"),
    })
}

/// Location string of the repository to use, and whether it is the default.
pub fn location(g: &Global) -> Result<(String, bool)> {
    match &g.repo {
        Some(r) if !r.is_empty() => Ok((r.clone(), false)),
        _ => Ok((default_repo()?.repo.display().to_string(), true)),
    }
}

fn env_set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The secret from the environment (or a TTY prompt). `prefix` is `CAIRN_`
/// or `CAIRN_NEW_`.
pub fn secret_from_env(prefix: &str, confirm: bool) -> Result<Option<Secret>> {
    if let Some(f) = env_set(&format!("{prefix}PASSWORD_FILE")) {
        let text = std::fs::read(&f).with_context(|| format!("reading password file {f}"))?;
        let mut p = text;
        while p.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            p.pop();
        }
        if p.is_empty() {
            bail!("password file {f} is empty");
        }
        return Ok(Some(Secret::Passphrase(p)));
    }
    if let Some(c) = env_set(&format!("{prefix}PASSWORD_COMMAND")) {
        return Ok(Some(Secret::from_command(&["sh".into(), "-c".into(), c])?));
    }
    if let Some(k) = env_set(&format!("{prefix}KEY_FILE")) {
        return Ok(Some(Secret::from_key_file(std::path::Path::new(&k))?));
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        let p = rpassword::prompt_password("enter password for repository: ")?;
        if confirm {
            let again = rpassword::prompt_password("enter password again: ")?;
            if again != p {
                bail!("passwords do not match");
            }
        }
        if p.is_empty() {
            bail!("empty password");
        }
        return Ok(Some(Secret::passphrase(p)));
    }
    Ok(None)
}

fn no_key_error() -> anyhow::Error {
    anyhow::anyhow!(
        "no key given: set CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND or CAIRN_KEY_FILE, or run on a terminal to be asked"
    )
}

/// Opens the configured repository.
pub fn open(g: &Global) -> Result<Repository> {
    let (loc, is_default) = location(g)?;
    open_at(g, &loc, is_default, None)
}

/// Opens the repository at `loc`, with `secret` when given, else the key
/// from the environment (or, for the default repository, its key file).
pub fn open_at(
    g: &Global,
    loc: &str,
    is_default: bool,
    secret: Option<Secret>,
) -> Result<Repository> {
    let loc = loc.to_string();
    let backend = cairn::open_backend(&loc, &g.backend_options(false))?;
    match backend.read(cairn::FileKind::Config, "") {
        Err(e) if e.is_not_found() => return Err(cairn::Error::RepositoryNotFound(loc).into()),
        _ => {}
    }
    let from_env = match secret {
        Some(s) => Some(s),
        None => secret_from_env("CAIRN_", false)?,
    };
    let secret = match from_env {
        Some(s) => s,
        None if is_default => {
            let d = default_repo()?;
            if !d.repo.join("config").exists() {
                return Err(cairn::Error::RepositoryNotFound(loc).into());
            }
            Secret::from_key_file(&d.key).with_context(|| {
                format!("reading the default repository's key {}", d.key.display())
            })?
        }
        None => return Err(no_key_error()),
    };
    let mut opts = cairn::OpenOptions::default();
    if let Some(h) = &g.key_hint {
        opts = opts.key_hint(h.clone());
    }
    let repo = Repository::open_with(backend, &secret, &opts)?;
    tracing::info!(
        repository = %loc,
        key = %repo.key_id().short(),
        "opened repository; index has {} blobs in {} packs",
        repo.stats_index_len(),
        repo.stats_pack_count()
    );
    Ok(repo)
}

/// The secret a plan names (`password_file`, `password_command`,
/// `key_file`), if it names one.
pub fn plan_secret(k: &cairn_plan::KeySource) -> Result<Option<Secret>> {
    if let Some(f) = &k.password_file {
        let mut p = std::fs::read(f)
            .with_context(|| format!("reading the plan's password file {}", f.display()))?;
        while p.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            p.pop();
        }
        if p.is_empty() {
            bail!("password file {} is empty", f.display());
        }
        return Ok(Some(Secret::Passphrase(p)));
    }
    if let Some(c) = &k.password_command {
        return Ok(Some(Secret::from_command(&[
            "sh".into(),
            "-c".into(),
            c.clone(),
        ])?));
    }
    if let Some(k) = &k.key_file {
        return Ok(Some(Secret::from_key_file(k)?));
    }
    Ok(None)
}

/// Opens a plan's repository: the one the plan names (a different
/// `--repo`/`CAIRN_REPOSITORY` is refused, never silently preferred), else
/// the configured one; with `create`, the default repository is created
/// when missing, as `backup` does.
pub fn open_for_plan(g: &Global, plan: &cairn_plan::Plan, create: bool) -> Result<Repository> {
    let secret = plan_secret(&plan.key)?;
    match (
        &plan.repository,
        g.repo.as_deref().filter(|r| !r.is_empty()),
    ) {
        (Some(p), Some(r)) if p != r => bail!(
            "plan {} names repository {p}, but --repo/CAIRN_REPOSITORY says {r}: remove one",
            plan.name
        ),
        (Some(p), _) => open_at(g, p, false, secret),
        (None, _) if secret.is_some() => {
            let (loc, is_default) = location(g)?;
            open_at(g, &loc, is_default, secret)
        }
        (None, _) if create => open_or_create_default(g),
        (None, _) => open(g),
    }
}

/// Opens the configured repository; for the default repository, creates it
/// (with a new key file and a clear warning) when it does not exist yet.
///
/// A secret in the environment (an exported CAIRN_PASSWORD_FILE, say) does
/// not stop that: the new repository gets the key file and, as a second
/// key slot, that secret, so later runs open it with or without it.
pub fn open_or_create_default(g: &Global) -> Result<Repository> {
    let (_, is_default) = location(g)?;
    if is_default {
        let d = default_repo()?;
        if !d.repo.join("config").exists() {
            let repo = create_default(&d)?;
            if let Some(secret) = secret_from_env("CAIRN_", false)? {
                let var = [
                    "CAIRN_PASSWORD_FILE",
                    "CAIRN_PASSWORD_COMMAND",
                    "CAIRN_KEY_FILE",
                ]
                .into_iter()
                .find(|v| env_set(v).is_some())
                .unwrap_or("the environment");
                let label = format!("from {var} at creation");
                repo.add_key(&secret, cairn::KeyOptions::default().label(label))?;
                crate::err!("cairn: the secret of {var} opens it too (a second key slot)");
            }
            return Ok(repo);
        }
    }
    open(g)
}

fn create_default(d: &DefaultRepo) -> Result<Repository> {
    let secret = if d.key.exists() {
        Secret::from_key_file(&d.key)?
    } else {
        Secret::generate_key_file(&d.key)?
    };
    let backend = cairn::open_backend(
        &d.repo.display().to_string(),
        &cairn::BackendOptions::creating(),
    )?;
    let repo = Repository::init(
        backend,
        &secret,
        InitOptions::default().label("default key file".into()),
    )?;
    crate::err!("cairn: created a new repository at {}", d.repo.display());
    crate::err!("cairn: its key is in {}", d.key.display());
    crate::err!("cairn: WARNING: keep a copy of that key file somewhere safe and separate.");
    crate::err!("cairn:          Without it these backups cannot be read by anyone, ever.");
    Ok(repo)
}

/// Opens a second repository (copy target or chunker source) with the key
/// from `{prefix}PASSWORD_FILE`, `..._COMMAND` or `..._KEY_FILE`.
pub fn open_other(g: &Global, location: &str, prefix: &str) -> Result<Repository> {
    let backend = cairn::open_backend(location, &g.backend_options(false))?;
    let secret = secret_from_env(prefix, false)?.ok_or_else(|| {
        anyhow::anyhow!("no key for {location}: set {prefix}PASSWORD_FILE, {prefix}PASSWORD_COMMAND or {prefix}KEY_FILE")
    })?;
    Ok(Repository::open(backend, &secret)?)
}

/// The secret for `init` (never a prompt without confirmation).
pub fn init_secret() -> Result<Secret> {
    secret_from_env("CAIRN_", true)?.ok_or_else(no_key_error)
}

/// The new secret for `key add` / `key passwd`.
pub fn new_secret(key_file: Option<&std::path::Path>) -> Result<Secret> {
    if let Some(p) = key_file {
        return Ok(if p.exists() {
            Secret::from_key_file(p)?
        } else {
            Secret::generate_key_file(p)?
        });
    }
    secret_from_env("CAIRN_NEW_", true)?.ok_or_else(|| {
        anyhow::anyhow!("no new key given: use --new-key-file, CAIRN_NEW_PASSWORD_FILE or CAIRN_NEW_PASSWORD_COMMAND")
    })
}
