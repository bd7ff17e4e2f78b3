//! What the API server adds to an object, taken out before it is stored:
//! the fields a restore must not send back (they belong to the old
//! cluster) and the per-kind fields the target cluster assigns anew, as
//! Velero resets them.

use serde_json::{Map, Value};

/// `metadata` fields the server sets.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Annotations a controller wrote about the old cluster's binding.
const BINDING_ANNOTATIONS: &[&str] = &[
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
];

/// Removes the server-side fields of `obj` (in place), given its group and
/// kind; `apiVersion` and `kind` are set, since list items may lack them.
pub fn clean(obj: &mut Value, api_version: &str, kind: &str) {
    let Some(o) = obj.as_object_mut() else { return };
    o.insert("apiVersion".into(), api_version.into());
    o.insert("kind".into(), kind.into());
    o.remove("status");
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in SERVER_METADATA {
            meta.remove(*f);
        }
        remove_annotations(meta, BINDING_ANNOTATIONS);
    }
    let core = !api_version.contains('/');
    let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match (core, kind) {
        (true, "Service") => clean_service(spec),
        (true, "PersistentVolumeClaim") => {
            spec.remove("volumeName");
        }
        (true, "PersistentVolume") => clean_claim_ref(spec),
        (true, "Pod") => {
            spec.remove("nodeName");
        }
        _ => {}
    }
}

fn remove_annotations(meta: &mut Map<String, Value>, names: &[&str]) {
    let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) else {
        return;
    };
    for n in names {
        ann.remove(*n);
    }
    if ann.is_empty() {
        meta.remove("annotations");
    }
}

/// A Service's cluster IPs and node ports are assigned by the target
/// cluster; a headless Service (`clusterIP: None`) keeps saying so.
fn clean_service(spec: &mut Map<String, Value>) {
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    if !headless {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
    spec.remove("healthCheckNodePort");
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            p.remove("nodePort");
        }
    }
}

/// A PersistentVolume's claim reference names the claim, not the old
/// claim object.
fn clean_claim_ref(spec: &mut Map<String, Value>) {
    if let Some(r) = spec.get_mut("claimRef").and_then(Value::as_object_mut) {
        r.remove("uid");
        r.remove("resourceVersion");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_go_and_the_rest_stays() {
        let mut o = json!({"metadata": {"name": "a", "namespace": "n", "uid": "u", "resourceVersion": "7",
            "generation": 2, "creationTimestamp": "t", "managedFields": [], "labels": {"app": "a"},
            "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
            "spec": {"replicas": 2}, "status": {"readyReplicas": 2}});
        clean(&mut o, "apps/v1", "Deployment");
        assert_eq!(
            o,
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "namespace": "n", "labels": {"app": "a"}}, "spec": {"replicas": 2}})
        );
    }

    #[test]
    fn services_lose_assigned_addresses_but_headless_stays_headless() {
        let mut s = json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"],
            "type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}});
        clean(&mut s, "v1", "Service");
        assert_eq!(
            s["spec"],
            json!({"type": "NodePort", "ports": [{"port": 80}]})
        );
        let mut h = json!({"metadata": {"name": "h"}, "spec": {"clusterIP": "None", "clusterIPs": ["None"]}});
        clean(&mut h, "v1", "Service");
        assert_eq!(
            h["spec"],
            json!({"clusterIP": "None", "clusterIPs": ["None"]})
        );
    }

    #[test]
    fn claims_lose_their_volume_binding() {
        let mut c =
            json!({"metadata": {"name": "c"}, "spec": {"volumeName": "pvc-1", "resources": {}}});
        clean(&mut c, "v1", "PersistentVolumeClaim");
        assert_eq!(c["spec"], json!({"resources": {}}));
        let mut v = json!({"metadata": {"name": "v"}, "spec": {"claimRef": {"name": "c", "uid": "u", "resourceVersion": "1"}}});
        clean(&mut v, "v1", "PersistentVolume");
        assert_eq!(v["spec"], json!({"claimRef": {"name": "c"}}));
    }
}
