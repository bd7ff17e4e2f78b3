//! A bucket as a plan component (`kind = "s3"`).

use crate::{S3BackupOptions, S3RestoreOptions};
use cairn::{Result, S3Options, Snapshot};
use cairn_plan::{Capture, CaptureCx, Component, Outcome, RestoreCx, Table};
use std::sync::Arc;

/// The objects under one `s3://bucket[/prefix]`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct S3Component {
    /// What to back up.
    pub backup: S3BackupOptions,
    /// Where restores go (`None`: this component cannot restore).
    pub restore: Option<S3RestoreOptions>,
    /// A scratch bucket or prefix for drills (`s3://bucket[/prefix]`, on
    /// the source's endpoint): each drill restores below a new prefix
    /// there, compares, and deletes what it wrote.
    pub drill_url: Option<String>,
}

impl S3Component {
    /// A component that backs up as `o` says.
    pub fn new(o: S3BackupOptions) -> S3Component {
        S3Component {
            backup: o,
            restore: None,
            drill_url: None,
        }
    }

    /// Sets the restore target.
    pub fn restore_into(mut self, r: S3RestoreOptions) -> S3Component {
        self.restore = Some(r);
        self
    }
}

fn s3_options(t: &mut Table) -> Result<S3Options> {
    let mut o = S3Options {
        endpoint: t.str("endpoint")?,
        region: t.str("region")?,
        ..Default::default()
    };
    if let Some(n) = t.int("concurrency")? {
        if !(1..=256).contains(&n) {
            return Err(t.error("concurrency must be between 1 and 256"));
        }
        o.concurrency = n as usize;
    }
    Ok(o)
}

/// `kind = "s3"`. Settings: `url`, `endpoint`, `region`, `concurrency`,
/// `exclude`, `drill_url`. Restore: `url`, `endpoint`, `region`, `concurrency`,
/// `prefix`, `include`. Credentials come from the standard `AWS_*`
/// variables.
pub fn from_settings(s: &mut Table, r: &mut Table) -> Result<Arc<dyn Component>> {
    let url = s.req_str("url")?;
    cairn::parse_s3_url(&url).map_err(|e| s.error(e))?;
    let backup = S3BackupOptions {
        url,
        s3: s3_options(s)?,
        excludes: s.strs("exclude")?,
        ..Default::default()
    };
    let drill_url = s.str("drill_url")?;
    if let Some(u) = &drill_url {
        cairn::parse_s3_url(u).map_err(|e| s.error(e))?;
    }
    let restore = match r.str("url")? {
        None => None,
        Some(url) => {
            cairn::parse_s3_url(&url).map_err(|e| r.error(e))?;
            Some(S3RestoreOptions {
                url,
                s3: s3_options(r)?,
                prefix: r.str("prefix")?,
                include: r.strs("include")?,
            })
        }
    };
    Ok(Arc::new(S3Component {
        backup,
        restore,
        drill_url,
    }))
}

impl Component for S3Component {
    fn kind(&self) -> &'static str {
        "s3"
    }

    fn describe(&self) -> String {
        match &self.backup.s3.endpoint {
            Some(e) => format!("{} at {e}", self.backup.url),
            None => self.backup.url.clone(),
        }
    }

    fn is_previous(&self, snapshot: &Snapshot) -> bool {
        snapshot.source == "s3" && snapshot.info.get("s3.url") == Some(&self.backup.url)
    }

    fn capture(&self, cx: &CaptureCx<'_>) -> Result<Capture> {
        crate::backup::capture(cx.repo, &self.backup, cx.previous)
    }

    fn restore_target(&self) -> String {
        match &self.restore {
            Some(r) => format!("bucket {}", r.url),
            None => "(no restore target: `url` in the component's [restore])".into(),
        }
    }

    fn restore(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let Some(r) = &self.restore else {
            return Err(cairn::Error::invalid(
                "this s3 component has no restore target: set `url` in its [component.restore] table",
            ));
        };
        let rep = crate::restore(cx.repo, &cx.id, r)?;
        Ok(Outcome {
            summary: format!(
                "{} objects ({} bytes) written to {}",
                rep.objects, rep.bytes, r.url
            ),
            items: rep.objects,
            bytes: rep.bytes,
            details: Vec::new(),
            data: serde_json::json!({ "objects": rep.objects, "bytes": rep.bytes }),
        })
    }

    fn drill(&self, cx: &RestoreCx<'_>, _scratch: &std::path::Path) -> Result<Outcome> {
        let Some(base) = &self.drill_url else {
            return self.verify(cx);
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let url = format!(
            "{}/cairn-drill-{}-{nanos:x}",
            base.trim_end_matches('/'),
            std::process::id()
        );
        let opts = S3RestoreOptions {
            url: url.clone(),
            s3: self.backup.s3.clone(),
            prefix: None,
            include: Vec::new(),
        };
        let restored = crate::restore(cx.repo, &cx.id, &opts);
        let target = crate::Bucket::open(&url, &self.backup.s3)?;
        let listed = target.list();
        // Clean up whatever arrived, also after a failure.
        if let Ok(objects) = &listed {
            for m in objects {
                let _ = target.delete(m.location.as_ref());
            }
        }
        let (rep, listed) = (restored?, listed?);
        let listed_bytes: u64 = listed.iter().map(|m| m.size).sum();
        if listed.len() as u64 != rep.objects || listed_bytes != rep.bytes {
            return Err(cairn::Error::invalid(format!(
                "drill into {url}: {} objects ({} bytes) written but {} ({listed_bytes} bytes) listed",
                rep.objects,
                rep.bytes,
                listed.len()
            )));
        }
        Ok(Outcome {
            summary: format!(
                "{} objects ({} bytes) restored into {url}, listed back with their sizes, and deleted",
                rep.objects, rep.bytes
            ),
            items: rep.objects,
            bytes: rep.bytes,
            details: Vec::new(),
            data: serde_json::json!({ "objects": rep.objects, "bytes": rep.bytes, "scratch": url }),
        })
    }

    fn verify(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let (items, bytes) = cairn_plan::read_back(cx.repo, cx.snapshot)?;
        let listed: Option<u64> = cx
            .snapshot
            .info
            .get("s3.objects")
            .and_then(|n| n.parse().ok());
        let mut details = Vec::new();
        if let Some(n) = listed {
            if n > 0 && n != items {
                return Err(cairn::Error::corrupt(
                    format!("snapshot {}", cx.id.short()),
                    format!("the listing recorded {n} objects but the snapshot holds {items}"),
                ));
            }
            details.push(format!("{n} objects, as the listing recorded"));
        }
        Ok(Outcome {
            summary: format!("{items} objects ({bytes} bytes) read back and checked"),
            items,
            bytes,
            details,
            data: serde_json::json!({ "objects": items, "bytes": bytes }),
        })
    }
}
