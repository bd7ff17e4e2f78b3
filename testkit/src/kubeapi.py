"""A fixture Kubernetes API server for cairn's tests.

It is not a cluster: it answers the requests a backup, a restore and
kubectl make, in the real response shapes, from objects loaded out of
manifest files (the shared fixtures) plus the objects a real cluster has
and a backup must skip. Every object gets what a real API server adds (uid,
resourceVersion, creationTimestamp, generation, managedFields, status, a
Service's cluster IP and node ports, a bound claim's volume). It serves:

  GET /version, /api, /api/v1, /apis, /apis/G/V   legacy discovery
  GET collection ?limit&continue&labelSelector     paged lists
  GET object                                       one object
  PATCH object (application/apply-patch+yaml)      server-side apply
  GET /_recorded                                   the request log

Every request is recorded (method, path, query, content type, body) as
JSON lines in --record.

Usage: kubeapi.py --port-file F --record F [--manifests DIR] [--extras]
       [--forbid PLURAL] [--never-establish] [--expire-continue]
       [--reject KIND]
"""

import argparse
import base64
import copy
import http.server
import json
import os
import socketserver
import sys
import threading
import urllib.parse
import uuid

import yaml

# group, version, kind, plural, namespaced, verbs
BUILTIN = [
    ("", "v1", "Namespace", "namespaces", False, "cdglpuw"),
    ("", "v1", "Node", "nodes", False, "cdglpuw"),
    ("", "v1", "Event", "events", True, "cdglpuw"),
    ("", "v1", "Pod", "pods", True, "cdglpuw"),
    ("", "v1", "Binding", "bindings", True, "c"),
    ("", "v1", "ComponentStatus", "componentstatuses", False, "gl"),
    ("", "v1", "Service", "services", True, "cdglpuw"),
    ("", "v1", "ConfigMap", "configmaps", True, "cdglpuw"),
    ("", "v1", "Secret", "secrets", True, "cdglpuw"),
    ("", "v1", "ServiceAccount", "serviceaccounts", True, "cdglpuw"),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, "cdglpuw"),
    ("", "v1", "PersistentVolume", "persistentvolumes", False, "cdglpuw"),
    ("apps", "v1", "Deployment", "deployments", True, "cdglpuw"),
    ("apps", "v1", "StatefulSet", "statefulsets", True, "cdglpuw"),
    ("apps", "v1", "ReplicaSet", "replicasets", True, "cdglpuw"),
    ("apps", "v1", "DaemonSet", "daemonsets", True, "cdglpuw"),
    ("batch", "v1", "Job", "jobs", True, "cdglpuw"),
    ("batch", "v1", "CronJob", "cronjobs", True, "cdglpuw"),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, "cdglpuw"),
    ("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, "cdglpuw"),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", True, "cdglpuw"),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, "cdglpuw"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, "cdglpuw"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False, "cdglpuw"),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, "cdglpuw"),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, "cdglpuw"),
    ("coordination.k8s.io", "v1", "Lease", "leases", True, "cdglpuw"),
    ("events.k8s.io", "v1", "Event", "events", True, "cdglpuw"),
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False, "c"),
]
VERBS = {"c": "create", "d": "delete", "g": "get", "l": "list", "p": "patch", "u": "update", "w": "watch"}
# the preferred version of groups served at several versions
PREFERRED = {"autoscaling": "v2"}


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.rv = 1000
        self.types = list(BUILTIN)
        self.objects = {}  # (group, plural, ns, name) -> object
        self.forbid = set(args.forbid or [])
        self.never_establish = args.never_establish
        self.expire_continue = args.expire_continue
        self.reject = set(args.reject or [])
        self.record = args.record

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def type_of_kind(self, api_version, kind):
        group, version = split_api(api_version)
        for t in self.types:
            if t[0] == group and t[2] == kind and (t[1] == version or group == "autoscaling"):
                return t
        return None

    def type_of_plural(self, group, version, plural):
        for t in self.types:
            if t[0] == group and t[1] == version and t[3] == plural:
                return t
        return None

    def add_crd_types(self, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        for v in spec.get("versions", []):
            if not v.get("served", True):
                continue
            t = (spec["group"], v["name"], names["kind"], names["plural"],
                 spec.get("scope", "Namespaced") == "Namespaced", "cdglpuw")
            if t not in self.types:
                self.types.append(t)


def split_api(api_version):
    if "/" in api_version:
        g, v = api_version.split("/", 1)
        return g, v
    return "", api_version


def server_fields(state, obj, t):
    """What a real API server adds to an object it stores."""
    meta = obj.setdefault("metadata", {})
    meta.setdefault("uid", str(uuid.uuid4()))
    meta["resourceVersion"] = state.next_rv()
    meta["creationTimestamp"] = "2026-11-30T02:00:00Z"
    meta["generation"] = meta.get("generation", 0) + 1
    meta["managedFields"] = [{"manager": "kubectl-client-side-apply", "operation": "Update",
                              "apiVersion": obj.get("apiVersion"), "time": "2026-11-30T02:00:00Z",
                              "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]
    if meta.get("namespace") is None and t[4]:
        meta["namespace"] = "default"
    kind = obj.get("kind")
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
    if kind == "Service" and spec is not None:
        if spec.get("clusterIP") != "None":
            ip = "10.96.0.%d" % (len(state.objects) % 250 + 2)
            spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        else:
            spec["clusterIPs"] = ["None"]
        for i, p in enumerate(spec.get("ports", [])):
            if spec.get("type") in ("NodePort", "LoadBalancer"):
                p["nodePort"] = 30000 + i
        obj["status"] = {"loadBalancer": {}}
    elif kind == "PersistentVolumeClaim" and spec is not None:
        spec["volumeName"] = "pvc-" + meta["uid"]
        meta.setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
        obj["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes", [])}
    elif kind == "CustomResourceDefinition":
        established = "False" if state.never_establish else "True"
        obj["status"] = {"conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
            {"type": "Established", "status": established, "reason": "InitialNamesAccepted"}],
            "acceptedNames": spec.get("names", {}) if spec else {}}
        state.add_crd_types(obj)
    elif kind == "Deployment":
        obj["status"] = {"replicas": (spec or {}).get("replicas", 1), "observedGeneration": 1}
    elif "status" in obj and obj["status"] in ({}, None):
        obj["status"] = {"observedGeneration": 1}
    return obj


def store(state, obj):
    t = state.type_of_kind(obj["apiVersion"], obj["kind"])
    if t is None:
        raise KeyError("no type for %s %s" % (obj["apiVersion"], obj["kind"]))
    obj = server_fields(state, obj, t)
    ns = obj["metadata"].get("namespace") if t[4] else None
    state.objects[(t[0], t[3], ns, obj["metadata"]["name"])] = obj
    return obj


EXTRAS = """
apiVersion: v1
kind: Node
metadata: {name: worker-1, labels: {kubernetes.io/hostname: worker-1}}
status: {capacity: {cpu: "4"}}
---
apiVersion: v1
kind: Event
metadata: {name: control-plane-api.1, namespace: stoa-system}
reason: Scheduled
message: assigned to worker-1
---
apiVersion: v1
kind: Pod
metadata: {name: migrate-db, namespace: stoa-system}
spec: {containers: [{name: m, image: busybox}], nodeName: worker-1}
status: {phase: Succeeded}
---
apiVersion: v1
kind: Pod
metadata: {name: debug-shell, namespace: stoa-system}
spec: {containers: [{name: sh, image: busybox}], nodeName: worker-1}
status: {phase: Running}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: control-plane-api-7c9f
  namespace: stoa-system
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: control-plane-api, uid: 1, controller: true}]
spec: {replicas: 2, selector: {matchLabels: {app: control-plane-api}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: control-plane-api-7c9f-abcde
  namespace: stoa-system
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: control-plane-api-7c9f, uid: 2, controller: true}]
spec: {containers: [{name: api, image: x}], nodeName: worker-1}
status: {phase: Running}
---
apiVersion: batch/v1
kind: Job
metadata: {name: pg-backup-29000000, namespace: stoa-system}
spec: {template: {spec: {containers: [{name: b, image: postgres:15-alpine}], restartPolicy: OnFailure}}}
status: {conditions: [{type: Complete, status: "True"}], succeeded: 1}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: stoa-operator-leader, namespace: stoa-system}
spec: {holderIdentity: stoa-operator-0}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: control-plane-api, namespace: stoa-system}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: control-plane-api}
  minReplicas: 2
  maxReplicas: 6
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: stoa-system}
spec: {type: NodePort, selector: {app: control-plane-api}, ports: [{port: 443, targetPort: 8443}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: team-b-settings, namespace: team-b, labels: {tier: web}}
data: {mode: blue}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: standard-rwo}
provisioner: pd.csi.storage.gke.io
"""


def load(state, args):
    docs = []
    if args.manifests:
        for name in sorted(os.listdir(args.manifests)):
            if name.endswith(".yaml"):
                with open(os.path.join(args.manifests, name)) as f:
                    docs.extend(d for d in yaml.safe_load_all(f) if d)
    if args.extras:
        docs.extend(d for d in yaml.safe_load_all(EXTRAS) if d)
    for i in range(args.configmaps):
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "bulk-%03d" % i, "namespace": "stoa-system"},
                     "data": {"n": str(i)}})
    # CRDs first, so the custom resources have a type
    docs.sort(key=lambda d: d.get("kind") != "CustomResourceDefinition")
    for d in docs:
        store(state, d)


def resource_list(state, group, version):
    res = []
    for t in state.types:
        if t[0] == group and t[1] == version:
            res.append({"name": t[3], "singularName": t[2].lower(), "namespaced": t[4],
                        "kind": t[2], "verbs": [VERBS[c] for c in t[5]]})
            if t[3] == "pods":
                res.append({"name": "pods/status", "singularName": "", "namespaced": True,
                            "kind": "Pod", "verbs": ["get", "patch", "update"]})
    if not res:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "%s/%s" % (group, version) if group else version, "resources": res}


def group_list(state):
    groups = {}
    for t in state.types:
        if t[0]:
            groups.setdefault(t[0], [])
            if t[1] not in groups[t[0]]:
                groups[t[0]].append(t[1])
    out = []
    for g, versions in groups.items():
        pref = PREFERRED.get(g, versions[0])
        out.append({"name": g,
                    "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in versions],
                    "preferredVersion": {"groupVersion": "%s/%s" % (g, pref), "version": pref}})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}


def labels_match(obj, selector):
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, (s.strip() for s in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k) != v:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def with_type(obj, t):
    out = copy.deepcopy(obj)
    out["apiVersion"] = "%s/%s" % (t[0], t[1]) if t[0] else t[1]
    out["kind"] = t[2]
    return out


def parse_path(path):
    """(group, version, namespace, plural, name) of a resource URL, or None."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if len(rest) == 1:
        return group, version, ns, rest[0], None
    if len(rest) == 2:
        return group, version, ns, rest[0], rest[1]
    if len(rest) == 0 and ns is None:
        return None
    return None


def status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *a):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, body):
        url = urllib.parse.urlsplit(self.path)
        entry = {"method": self.command, "path": url.path,
                 "query": dict(urllib.parse.parse_qsl(url.query)),
                 "content_type": self.headers.get("Content-Type"), "body": body}
        with self.state.lock, open(self.state.record, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def do_GET(self):
        self.record(None)
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        with self.state.lock:
            code, body = self.get(url.path, q)
        self.reply(code, body)

    def get(self, path, q):
        st = self.state
        if path == "/version":
            return 200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-cairn-fixture"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if path == "/apis":
            return 200, group_list(st)
        parts = [p for p in path.split("/") if p]
        if (parts[:1] == ["api"] and len(parts) == 2) or (parts[:1] == ["apis"] and len(parts) == 3):
            g, v = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            rl = resource_list(st, g, v)
            return (200, rl) if rl else status(404, "NotFound", "the server could not find the requested resource")
        p = parse_path(path)
        if p is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        group, version, ns, plural, name = p
        t = st.type_of_plural(group, version, plural)
        if t is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        if name is not None:
            obj = st.objects.get((group, plural, ns if t[4] else None, name))
            if obj is None:
                return status(404, "NotFound", '%s "%s" not found' % (plural, name))
            return 200, with_type(obj, t)
        if plural in st.forbid:
            return status(403, "Forbidden", '%s is forbidden: User "backup" cannot list resource "%s"' % (plural, plural))
        body = self.list(t, ns, q)
        return (body["code"] if body.get("kind") == "Status" else 200), body

    def list(self, t, ns, q):
        st = self.state
        items = sorted(((k, o) for k, o in st.objects.items()
                        if k[0] == t[0] and k[1] == t[3] and (ns is None or k[2] == ns)),
                       key=lambda x: (x[0][2] or "", x[0][3]))
        items = [o for _, o in items if labels_match(o, q.get("labelSelector", ""))]
        start, rv = 0, str(st.rv)
        if q.get("continue") and st.expire_continue:
            st.expire_continue = False
            return status(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")[1]
        if q.get("continue"):
            tok = json.loads(base64.b64decode(q["continue"]))
            start, rv = tok["start"], tok["rv"]
        limit = int(q.get("limit", "0") or 0)
        end = len(items) if limit <= 0 else min(len(items), start + limit)
        custom = t[0] not in {b[0] for b in BUILTIN}
        page = [with_type(o, t) if custom else o for o in items[start:end]]
        meta = {"resourceVersion": rv}
        if end < len(items):
            meta["continue"] = base64.b64encode(json.dumps({"start": end, "rv": rv}).encode()).decode()
            meta["remainingItemCount"] = len(items) - end
        return {"kind": t[2] + "List", "apiVersion": "%s/%s" % (t[0], t[1]) if t[0] else t[1],
                "metadata": meta, "items": page}

    def do_PATCH(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n).decode()
        try:
            body = yaml.safe_load(raw)
        except yaml.YAMLError as e:
            self.record(raw)
            return self.reply(*status(400, "BadRequest", "body is not YAML or JSON: %s" % e))
        self.record(body)
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        with self.state.lock:
            code, out = self.apply(url.path, q, body)
        self.reply(code, out)

    def apply(self, path, q, body):
        st = self.state
        if self.headers.get("Content-Type") != "application/apply-patch+yaml":
            return status(415, "UnsupportedMediaType", "only server-side apply is served here")
        if not q.get("fieldManager"):
            return status(422, "Invalid", "fieldManager is required for apply patch")
        p = parse_path(path)
        if p is None or p[4] is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        group, version, ns, plural, name = p
        t = st.type_of_plural(group, version, plural)
        if t is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        if not isinstance(body, dict) or body.get("kind") != t[2] or \
                body.get("metadata", {}).get("name") != name:
            return status(400, "BadRequest", "the body is not the %s %s of the URL" % (t[2], name))
        if t[4]:
            if not ns or (body["metadata"].get("namespace") or ns) != ns:
                return status(400, "BadRequest", "the namespace of the body does not match the URL")
            if ("", "namespaces", None, ns) not in st.objects:
                return status(404, "NotFound", 'namespaces "%s" not found' % ns)
            body["metadata"]["namespace"] = ns
        for forbidden in ("uid", "resourceVersion", "managedFields"):
            if forbidden in body.get("metadata", {}):
                return status(400, "BadRequest", "metadata.%s must not be set in an apply" % forbidden)
        if t[2] in st.reject:
            return status(422, "Invalid", '%s "%s" is invalid: spec: Forbidden: rejected by the fixture' % (t[2], name))
        key = (group, plural, ns if t[4] else None, name)
        created = key not in st.objects
        obj = server_fields(st, copy.deepcopy(body), t)
        st.objects[key] = obj
        return (201 if created else 200), with_type(obj, t)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--manifests")
    ap.add_argument("--extras", action="store_true")
    ap.add_argument("--configmaps", type=int, default=0)
    ap.add_argument("--forbid", action="append")
    ap.add_argument("--never-establish", action="store_true")
    ap.add_argument("--expire-continue", action="store_true")
    ap.add_argument("--reject", action="append")
    args = ap.parse_args()
    state = State(args)
    load(state, args)
    Handler.state = state
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
