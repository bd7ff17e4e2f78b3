//! What a backup leaves out because it must never be restored, and what a
//! restore leaves to the controllers that recreate it.

use serde_json::Value;

/// Resources never backed up (as `plural.group`, `plural` for the core
/// group): state of the old cluster's machines and of backup tools, which
/// a restore must not bring back (Velero's list).
pub const NEVER: &[&str] = &[
    "nodes",
    "events",
    "events.events.k8s.io",
    "componentstatuses",
    "bindings",
    "csinodes.storage.k8s.io",
    "volumeattachments.storage.k8s.io",
    "leases.coordination.k8s.io",
    "backups.velero.io",
    "restores.velero.io",
    "resticrepositories.velero.io",
    "backuprepositories.velero.io",
];

/// `plural.group`, or `plural` for the core group.
pub fn resource_name(plural: &str, group: &str) -> String {
    match group.is_empty() {
        true => plural.to_string(),
        false => format!("{plural}.{group}"),
    }
}

/// Why this object is not backed up, or `None` to keep it: completed pods
/// and jobs are history, not state.
pub fn skip_object(group: &str, kind: &str, obj: &Value) -> Option<&'static str> {
    match (group, kind) {
        ("", "Pod") => {
            let phase = obj.pointer("/status/phase").and_then(Value::as_str);
            matches!(phase, Some("Succeeded" | "Failed")).then_some("completed pods")
        }
        ("batch", "Job") => {
            let done = obj
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter().any(|c| {
                        matches!(c["type"].as_str(), Some("Complete" | "Failed"))
                            && c["status"].as_str() == Some("True")
                    })
                });
            done.then_some("completed jobs")
        }
        _ => None,
    }
}

/// The kind of the controller that owns this object (a Deployment's
/// ReplicaSet, a ReplicaSet's Pod), if any. Restoring such an object would
/// race its owner, and its owner reference names the old owner's uid, so
/// the garbage collector would delete it: the restore leaves it to the
/// restored owner to recreate.
pub fn controlled_by(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))
        .and_then(|r| r["kind"].as_str())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn completed_pods_and_jobs_are_skipped_running_ones_kept() {
        assert_eq!(
            skip_object("", "Pod", &json!({"status": {"phase": "Succeeded"}})),
            Some("completed pods")
        );
        assert_eq!(
            skip_object("", "Pod", &json!({"status": {"phase": "Running"}})),
            None
        );
        let done = json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(skip_object("batch", "Job", &done), Some("completed jobs"));
        let running = json!({"status": {"conditions": [{"type": "Complete", "status": "False"}]}});
        assert_eq!(skip_object("batch", "Job", &running), None);
        assert_eq!(
            skip_object(
                "example.com",
                "Pod",
                &json!({"status": {"phase": "Failed"}})
            ),
            None
        );
    }

    #[test]
    fn only_controller_references_count() {
        let owned = json!({"metadata": {"ownerReferences": [{"kind": "ConfigMap", "controller": false},
            {"kind": "ReplicaSet", "controller": true}]}});
        assert_eq!(controlled_by(&owned).as_deref(), Some("ReplicaSet"));
        assert_eq!(
            controlled_by(&json!({"metadata": {"ownerReferences": [{"kind": "X"}]}})),
            None
        );
        assert_eq!(controlled_by(&json!({"metadata": {}})), None);
    }
}
