//! `cairn backup kubernetes` and `cairn restore kubernetes`.

use crate::cli::{
    Global, KubeBackupArgs, KubeConnectArgs, KubeDumpArgs, KubePickArgs, KubeRestoreArgs,
};
use anyhow::Result;
use cairn_kubernetes::{
    BackupOptions, Connection, KubernetesComponent, RestoreMode, RestoreOptions, Selection,
};
use std::process::ExitCode;
use std::time::Duration;

fn connection(c: &KubeConnectArgs) -> Connection {
    Connection {
        kubeconfig: c.kubeconfig.clone(),
        context: c.context.clone(),
    }
}

pub fn backup(g: &Global, a: &KubeBackupArgs) -> Result<ExitCode> {
    let b = BackupOptions {
        connection: connection(&a.connect),
        selection: Selection {
            namespaces: a.namespaces.clone(),
            exclude_namespaces: a.exclude_namespaces.clone(),
            kinds: a.kinds.clone(),
            exclude_kinds: a.exclude_kinds.clone(),
            groups: a.groups.clone(),
            cluster: a.cluster_resources,
        },
        labels: a.selector.clone(),
        secrets: !a.exclude_secrets,
        page_size: a.page_size,
    };
    let c = KubernetesComponent::new(b, RestoreOptions::default(), RestoreMode::DryRun);
    super::component::backup(g, &c, a.tag.clone(), a.host.clone())
}

/// The restore options of what `p` picks, into `connection`.
fn picked(p: &KubePickArgs, connection: Connection) -> RestoreOptions {
    RestoreOptions {
        connection,
        selection: Selection {
            namespaces: p.namespaces.clone(),
            kinds: p.kinds.clone(),
            exclude_kinds: p.exclude_kinds.clone(),
            ..Default::default()
        },
        include_owned: p.include_owned,
        ..Default::default()
    }
}

pub fn restore(g: &Global, a: &KubeRestoreArgs) -> Result<ExitCode> {
    let r = RestoreOptions {
        wait: Duration::from_secs(a.wait),
        ..picked(&a.pick, connection(&a.connect))
    };
    let mode = match (&a.to_yaml, a.dry_run) {
        (Some(d), _) => RestoreMode::Yaml(d.clone()),
        (None, true) => RestoreMode::DryRun,
        (None, false) => RestoreMode::Apply,
    };
    let c = KubernetesComponent::new(BackupOptions::default(), r, mode);
    super::component::restore(g, &c, &a.snapshot)
}

/// `cairn dump kubernetes SNAPSHOT DIR`: the YAML files of
/// `restore kubernetes --to-yaml`.
pub fn dump(g: &Global, a: &KubeDumpArgs) -> Result<ExitCode> {
    let r = picked(&a.pick, Connection::default());
    let c = KubernetesComponent::new(
        BackupOptions::default(),
        r,
        RestoreMode::Yaml(a.dir.clone()),
    );
    super::component::restore(g, &c, &a.snapshot)
}
