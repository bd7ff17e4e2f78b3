//! Keycloak as a plan component (`kind = "keycloak"`).

use crate::check::{check_set, RealmFigures, UsersMode};
use crate::export::{export, fresh_dir, run, ExportOptions};
use crate::partial::{partial_export, PartialOptions, PARTIAL_LABEL};
use crate::{PARTIAL_PREFIX, STREAM_PREFIX};
use cairn::{Error, Result, Snapshot, StreamSource};
use cairn_plan::{Capture, CaptureCx, Component, Outcome, RestoreCx, Table};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Where and how a restore imports.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The command that is `kc.sh` on the target.
    pub kc: Vec<String>,
    /// Where the import directory is made (removed after a successful
    /// import: the files hold secrets).
    pub work_dir: PathBuf,
    /// Only this realm.
    pub realm: Option<String>,
    /// `--override true`: replace realms that exist.
    pub override_existing: bool,
    /// More arguments after `import`.
    pub extra_args: Vec<String>,
}

/// Realm exports of one Keycloak.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct KeycloakComponent {
    /// How to export.
    pub export: ExportOptions,
    /// Where restores import (`None`: this component cannot restore).
    pub import: Option<ImportOptions>,
    /// Configuration only, through the admin REST API, instead of
    /// `kc.sh export` (not restorable).
    pub partial: Option<PartialOptions>,
}

impl KeycloakComponent {
    /// A component that exports as `o` says.
    pub fn new(o: ExportOptions) -> Self {
        KeycloakComponent {
            export: o,
            import: None,
            partial: None,
        }
    }

    /// Sets the restore target.
    pub fn import_into(mut self, i: ImportOptions) -> Self {
        self.import = Some(i);
        self
    }
}

fn kc_command(t: &mut Table) -> Result<Vec<String>> {
    let kc = t.strs("kc")?;
    Ok(if kc.is_empty() {
        vec!["kc.sh".to_string()]
    } else {
        kc
    })
}

fn partial_settings(s: &mut Table) -> Result<PartialOptions> {
    let need = |s: &mut Table, k: &'static str| -> Result<String> {
        s.str(k)?
            .ok_or_else(|| s.error(format!("mode = \"partial\" needs `{k}`")))
    };
    Ok(PartialOptions {
        url: need(s, "url")?,
        realm: need(s, "realm")?,
        admin_realm: s.str("admin_realm")?.unwrap_or_default(),
        client_id: s.str("client_id")?.unwrap_or_default(),
        username: need(s, "username")?,
        password_file: PathBuf::from(need(s, "password_file")?),
        curl: s.str("curl")?.unwrap_or_default(),
    })
}

/// `kind = "keycloak"`. Settings: `kc` (the kc.sh command as a list,
/// default `["kc.sh"]`), `work_dir`, `realm`, `users` (default
/// `different_files`), `users_per_file` (default 50), `args`; or
/// `mode = "partial"` with `url`, `realm`, `username`, `password_file`,
/// `admin_realm`, `client_id`, `curl` (configuration only). Restore: `kc`,
/// `work_dir`, `realm`, `override` (default false), `args`.
pub fn from_settings(s: &mut Table, r: &mut Table) -> Result<Arc<dyn Component>> {
    if s.str("mode")?.as_deref() == Some("partial") {
        let partial = partial_settings(s)?;
        return Ok(Arc::new(KeycloakComponent {
            partial: Some(partial),
            ..Default::default()
        }));
    }
    let per_file = s.int("users_per_file")?.unwrap_or(50);
    if per_file < 1 {
        return Err(s.error("users_per_file must be at least 1"));
    }
    let export = ExportOptions {
        kc: kc_command(s)?,
        work_dir: s
            .str("work_dir")?
            .map_or_else(std::env::temp_dir, PathBuf::from),
        realm: s.str("realm")?,
        users: UsersMode::parse(s.str("users")?.as_deref().unwrap_or("different_files"))
            .map_err(|e| s.error(e))?,
        users_per_file: per_file as u64,
        extra_args: s.strs("args")?,
    };
    let import = match r.strs("kc")?.is_empty()
        && r.str("work_dir")?.is_none()
        && r.bool("override")?.is_none()
    {
        true => None,
        false => Some(ImportOptions {
            kc: kc_command(r)?,
            work_dir: r
                .str("work_dir")?
                .map_or_else(std::env::temp_dir, PathBuf::from),
            realm: r.str("realm")?,
            override_existing: r.bool("override")?.unwrap_or(false),
            extra_args: r.strs("args")?,
        }),
    };
    Ok(Arc::new(KeycloakComponent {
        export,
        import,
        partial: None,
    }))
}

/// Snapshot facts of the figures.
fn figures_info(c: Capture, figs: &[RealmFigures], o: &ExportOptions, files: usize) -> Capture {
    let mut c = c
        .info(
            "keycloak",
            "realms",
            figs.iter()
                .map(|f| f.realm.as_str())
                .collect::<Vec<_>>()
                .join(","),
        )
        .info(
            "keycloak",
            "users",
            figs.iter().map(|f| f.users).sum::<u64>().to_string(),
        )
        .info("keycloak", "users_mode", o.users.as_str())
        .info("keycloak", "users_per_file", o.users_per_file.to_string())
        .info("keycloak", "files", files.to_string());
    for f in figs {
        for (k, v) in [
            ("users", f.users),
            ("clients", f.clients),
            ("roles", f.roles),
            ("identity_providers", f.identity_providers),
            ("groups", f.groups),
        ] {
            c = c.info("keycloak", &format!("realm.{}.{k}", f.realm), v.to_string());
        }
    }
    c
}

/// The figures a snapshot recorded, as the check computes them.
fn recorded(s: &Snapshot) -> Vec<RealmFigures> {
    let get = |k: &str| s.info.get(&format!("keycloak.{k}"));
    let num = |k: String| get(&k).and_then(|v| v.parse().ok()).unwrap_or(0);
    get("realms")
        .map(|r| {
            r.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|realm| RealmFigures {
            users: num(format!("realm.{realm}.users")),
            clients: num(format!("realm.{realm}.clients")),
            roles: num(format!("realm.{realm}.roles")),
            identity_providers: num(format!("realm.{realm}.identity_providers")),
            groups: num(format!("realm.{realm}.groups")),
            users_files: 0,
            realm,
        })
        .collect()
}

/// The stored files of a snapshot (name without the prefix, bytes).
fn stored_files(cx: &RestoreCx<'_>) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for path in &cx.snapshot.paths {
        let Some(name) = path.strip_prefix(STREAM_PREFIX) else {
            continue;
        };
        let mut bytes = Vec::new();
        cx.repo.dump(&cx.id, path, &mut bytes)?;
        files.push((name.to_string(), bytes));
    }
    if files.is_empty() {
        return Err(Error::invalid(format!(
            "snapshot {} holds no Keycloak export",
            cx.id.short()
        )));
    }
    Ok(files)
}

fn mode_of(s: &Snapshot) -> Result<(UsersMode, u64)> {
    let mode = UsersMode::parse(
        s.info
            .get("keycloak.users_mode")
            .map_or("different_files", String::as_str),
    )?;
    let per = s
        .info
        .get("keycloak.users_per_file")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    Ok((mode, per))
}

fn summary(figs: &[RealmFigures]) -> Vec<String> {
    figs.iter()
        .map(|f| {
            format!(
                "realm {}: {} users, {} clients, {} roles, {} identity providers, {} groups",
                f.realm, f.users, f.clients, f.roles, f.identity_providers, f.groups
            )
        })
        .collect()
}

impl Component for KeycloakComponent {
    fn kind(&self) -> &'static str {
        "keycloak"
    }

    fn describe(&self) -> String {
        if let Some(p) = &self.partial {
            return format!(
                "partial-export of realm {} at {} (configuration only)",
                p.realm, p.url
            );
        }
        format!(
            "kc.sh export of {} (users {})",
            self.export
                .realm
                .as_deref()
                .map_or("every realm".to_string(), |r| format!("realm {r}")),
            self.export.users.as_str()
        )
    }

    fn capture(&self, cx: &CaptureCx<'_>) -> Result<Capture> {
        if let Some(p) = &self.partial {
            return capture_partial(p);
        }
        if self.export.users == UsersMode::Skip {
            warn_no_users();
        }
        let files = export(&self.export, &cx.cancel)?;
        let figs = check_set(&files, self.export.users, self.export.users_per_file)?;
        let n = files.len();
        let streams = files
            .into_iter()
            .map(|(name, bytes)| {
                StreamSource::from_reader(
                    format!("{STREAM_PREFIX}{name}"),
                    std::io::Cursor::new(bytes),
                )
            })
            .collect();
        let c = Capture::streams(streams).consistency(
            "one kc.sh export: consistent when Keycloak's nodes were stopped (or the export ran as a one-off job) for its duration",
        );
        Ok(figures_info(c, &figs, &self.export, n))
    }

    fn restore_target(&self) -> String {
        match &self.import {
            Some(i) => format!(
                "kc.sh import --override {} ({})",
                i.override_existing,
                i.realm
                    .as_deref()
                    .map_or("every realm".to_string(), |r| format!("realm {r}"))
            ),
            None => "(no restore target: `kc` or `work_dir` in the component's [restore])".into(),
        }
    }

    fn restore(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        if cx.snapshot.info.contains_key("keycloak.mode") {
            return Err(Error::invalid(format!(
                "snapshot {} is a {PARTIAL_LABEL}: cairn does not restore it (Keycloak's partial import can read the file: `cairn dump`)",
                cx.id.short()
            )));
        }
        let Some(i) = &self.import else {
            return Err(Error::invalid("this keycloak component has no restore target: set `kc` in its [component.restore] table"));
        };
        let files = select(stored_files(cx)?, i.realm.as_deref())?;
        let (mode, per) = mode_of(cx.snapshot)?;
        let figs = check_set(&files, mode, per)?;
        let dir = fresh_dir(&i.work_dir, "import")?;
        let result = (|| {
            for (name, bytes) in &files {
                let p = dir.join(name);
                std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
            }
            let (prog, pre) =
                i.kc.split_first()
                    .ok_or_else(|| Error::invalid("empty kc.sh command"))?;
            let mut cmd = Command::new(prog);
            cmd.args(pre).arg("import").arg("--dir").arg(&dir);
            cmd.args([
                "--override",
                if i.override_existing { "true" } else { "false" },
            ]);
            cmd.args(&i.extra_args);
            run(cmd, "kc.sh import", &Arc::new(AtomicBool::new(false)))
        })();
        let _ = std::fs::remove_dir_all(&dir);
        result?;
        Ok(Outcome {
            summary: format!(
                "imported {} realm(s) with {} users",
                figs.len(),
                figs.iter().map(|f| f.users).sum::<u64>()
            ),
            items: files.len() as u64,
            bytes: files.iter().map(|(_, b)| b.len() as u64).sum(),
            details: summary(&figs),
            data: serde_json::json!({ "realms": figs.iter().map(|f| f.realm.clone()).collect::<Vec<_>>() }),
        })
    }

    fn verify(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        if cx.snapshot.info.contains_key("keycloak.mode") {
            return verify_partial(cx);
        }
        let files = stored_files(cx)?;
        let (mode, per) = mode_of(cx.snapshot)?;
        let mut figs = check_set(&files, mode, per)?;
        for f in &mut figs {
            f.users_files = 0;
        }
        let want = recorded(cx.snapshot);
        if figs != want {
            return Err(Error::corrupt(
                format!("snapshot {}", cx.id.short()),
                format!(
                    "the stored export re-parses to other figures than recorded: {:?} vs {:?}",
                    summary(&figs),
                    summary(&want)
                ),
            ));
        }
        Ok(Outcome {
            summary: format!(
                "{} export files re-parse with the recorded figures",
                files.len()
            ),
            items: files.len() as u64,
            bytes: files.iter().map(|(_, b)| b.len() as u64).sum(),
            details: summary(&figs),
            data: serde_json::json!({ "realms": figs.len() }),
        })
    }
}

/// Only `realm`'s files, when given (an error if it is not in the export).
fn select(files: Vec<(String, Vec<u8>)>, realm: Option<&str>) -> Result<Vec<(String, Vec<u8>)>> {
    let Some(r) = realm else { return Ok(files) };
    let out: Vec<_> = files
        .into_iter()
        .filter(|(n, _)| crate::layout::ExportFile::parse(n).is_some_and(|f| f.realm() == r))
        .collect();
    if out.is_empty() {
        return Err(Error::invalid(format!("realm {r:?} is not in this export")));
    }
    Ok(out)
}

fn warn_no_users() {
    eprintln!("cairn: warning: keycloak export with --users skip: the snapshot holds no users and cannot restore identities");
}

/// Figures of one realm document (a realm file or a partial export).
fn realm_figures(name: &str, bytes: &[u8]) -> Result<RealmFigures> {
    let file = format!("{name}-realm.json");
    let figs = check_set(&[(file, bytes.to_vec())], UsersMode::RealmFile, 0)?;
    figs.into_iter()
        .next()
        .ok_or_else(|| Error::internal("no figures"))
}

fn capture_partial(p: &PartialOptions) -> Result<Capture> {
    let bytes = partial_export(p)?;
    let fig = realm_figures(&p.realm, &bytes).map_err(|e| Error::Source {
        name: "keycloak partial-export".into(),
        detail: format!("the answer is not the realm {:?}: {e}", p.realm),
    })?;
    let stream = StreamSource::from_reader(
        format!("{PARTIAL_PREFIX}{}.json", p.realm),
        std::io::Cursor::new(bytes),
    );
    let c = Capture::streams(vec![stream])
        .consistency("one partial-export answer of the admin REST API")
        .info("keycloak", "mode", PARTIAL_LABEL);
    let o = ExportOptions {
        realm: Some(p.realm.clone()),
        users: UsersMode::Skip,
        ..Default::default()
    };
    Ok(figures_info(c, &[fig], &o, 1))
}

fn verify_partial(cx: &RestoreCx<'_>) -> Result<Outcome> {
    let want = recorded(cx.snapshot);
    let mut details = Vec::new();
    let mut bytes_total = 0;
    for path in &cx.snapshot.paths {
        let Some(file) = path.strip_prefix(PARTIAL_PREFIX) else {
            continue;
        };
        let realm = file.trim_end_matches(".json");
        let mut bytes = Vec::new();
        cx.repo.dump(&cx.id, path, &mut bytes)?;
        bytes_total += bytes.len() as u64;
        let fig = realm_figures(realm, &bytes)?;
        if !want.contains(&fig) {
            return Err(Error::corrupt(
                format!("snapshot {}", cx.id.short()),
                "the stored partial export re-parses to other figures than recorded",
            ));
        }
        details.extend(summary(&[fig]));
    }
    Ok(Outcome {
        summary: format!("partial export re-parses with the recorded figures ({PARTIAL_LABEL})"),
        items: details.len() as u64,
        bytes: bytes_total,
        details,
        data: serde_json::json!({ "partial": true }),
    })
}
