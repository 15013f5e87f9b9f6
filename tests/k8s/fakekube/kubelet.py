"""A scripted scheduler + kubelet: pods get a node, Events, a 127.x.y.z pod IP and a real local process.

When a Pod is created: after `schedule_delay` it is bound to the node (Scheduled event), gets its
pod IP, after `pull_delay` the image counts as pulled (Pulling, Pulled), then the first container's
command+args run as a local process in its own process group (Created, Started) and the pod goes
Running with ready containers. Exit of the process marks the container terminated (the fake never
restarts containers). A graceful delete sends SIGTERM to the group, SIGKILL after the (scaled) grace,
then removes the pod. Per-pod behaviour and faults come from rules (see README "Kubelet rules").
"""
import base64
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import uuid

from .catalog import BY_PATH
from .status import ApiError
from .store import now_micro, now_rfc3339

PODS = BY_PATH[("", "v1", "pods")]
EVENTS = BY_PATH[("", "v1", "events")]
SECRETS = BY_PATH[("", "v1", "secrets")]
CONFIGMAPS = BY_PATH[("", "v1", "configmaps")]
SERVICES = BY_PATH[("", "v1", "services")]
PVCS = BY_PATH[("", "v1", "persistentvolumeclaims")]

DEFAULTS = {
    "schedule_delay": 0.05,     # seconds before the pod is bound to the node
    "pull_delay": 0.1,          # seconds between Pulling and Pulled
    "mode": "run",              # "run": start the first container's command; "simulate": no process
    "unschedulable": False,     # stay Pending with PodScheduled=False/Unschedulable and FailedScheduling
    "image_pull_error": False,  # ErrImagePull, then ImagePullBackOff
    "multi_attach": False,      # FailedAttachVolume (Multi-Attach) and stay ContainerCreating
    "hang_delete": False,       # a graceful delete never completes (a lingering Terminating pod)
    "restart_backoff": 1.0,     # first CrashLoopBackOff delay (doubles per restart, as the kubelet's 10 s does)
    "pvc_pending": False,       # claims the pod uses never bind: FailedScheduling "unbound ... claims"
    "wildcard_to_pod_ip": True, # rewrite 0.0.0.0 in env values and args to the pod IP (shared netns)
}


class PodRun:
    def __init__(self, ns, name, uid):
        self.ns, self.name, self.uid = ns, name, uid
        self.proc = None
        self.ip = None
        self.gone = threading.Event()      # deleted: stop the script
        self.kill_reason = None            # (reason, exitCode) to report when we killed it on purpose
        self.log = None


class Kubelet:
    def __init__(self, store, workdir, api_host="127.0.0.1", api_port=0, node="fake-node", time_scale=1.0):
        self.store, self.workdir, self.node = store, workdir, node
        self.api_host, self.api_port = api_host, api_port
        self.time_scale = time_scale
        self.lock = threading.Lock()
        self.defaults = dict(DEFAULTS)
        self.rules = []                     # [{"namespace":..,"name_regex":..,<DEFAULTS keys>}], first match wins
        self.runs = {}                      # (ns, name) -> PodRun
        self.stopped = False
        # A random 127.A.B.0/24-ish base so parallel fakes on one machine do not hand out the same IPs.
        self.ip_base = (random.randint(100, 199), random.randint(0, 255))
        self.ip_next = 0
        store.listeners.append(self._on_change)
        store.graceful = self._on_graceful

    # ---- configuration ------------------------------------------------------------------
    def config_for(self, ns, name):
        cfg = dict(self.defaults)
        for r in self.rules:
            if r.get("namespace") not in (None, ns):
                continue
            if r.get("name_regex") and not re.fullmatch(r["name_regex"], name):
                continue
            cfg.update({k: v for k, v in r.items() if k in DEFAULTS})
            break
        return cfg

    def _alloc_ip(self):
        with self.lock:
            n = self.ip_next
            self.ip_next += 1
        a, b = self.ip_base
        return f"127.{a}.{(b + n // 250) % 256}.{n % 250 + 2}"

    def _sleep(self, run, seconds):
        return run.gone.wait(seconds)   # True when the pod went away meanwhile

    # ---- store hooks (called under the store lock: only start threads here) --------------
    def _on_change(self, ch):
        if ch.rkey != PODS.key:
            return
        key = (ch.ns, ch.name)
        if ch.type == "ADDED":
            run = PodRun(ch.ns, ch.name, ch.obj["metadata"]["uid"])
            with self.lock:
                self.runs[key] = run
            threading.Thread(target=self._lifecycle, args=(run,), daemon=True, name=f"kubelet-{ch.name}").start()
        elif ch.type == "DELETED":
            with self.lock:
                run = self.runs.get(key)
                if run and run.uid == ch.obj["metadata"]["uid"]:
                    del self.runs[key]
                else:
                    run = None
            if run:
                run.gone.set()
                threading.Thread(target=self._kill, args=(run, 0), daemon=True).start()

    def _on_graceful(self, res, pod):
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        with self.lock:
            run = self.runs.get(key)
        cfg = self.config_for(*key)
        grace = pod["metadata"].get("deletionGracePeriodSeconds", 30) * self.time_scale
        threading.Thread(target=self._terminate, args=(run, key, pod["metadata"]["uid"], grace, cfg),
                         daemon=True).start()

    # ---- the pod script ------------------------------------------------------------------
    def _pod(self, run):
        return self.store.find(PODS, run.ns, run.name)

    def _mutate(self, run, fn):
        try:
            return self.store.mutate(PODS, run.ns, run.name, fn, expect_uid=run.uid)
        except ApiError:
            run.gone.set()
            return None

    def event(self, pod, reason, message, etype="Normal", scheduler=False, container=None):
        meta = pod["metadata"]
        ts = now_rfc3339()
        with self.lock:   # named like the real recorder: <pod>.<hex unix nanoseconds>, so names sort by time
            self.last_ns = max(time.time_ns(), getattr(self, "last_ns", 0) + 1)
            ev_name = f"{meta['name']}.{self.last_ns:x}"
        ev = {"metadata": {"name": ev_name, "namespace": meta["namespace"]},
              "involvedObject": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"],
                                 "uid": meta["uid"], "apiVersion": "v1", "resourceVersion": meta["resourceVersion"]},
              "reason": reason, "message": message, "type": etype}
        if container:
            ev["involvedObject"]["fieldPath"] = f"spec.containers{{{container}}}"
        if scheduler:
            ev.update({"source": {}, "firstTimestamp": None, "lastTimestamp": None, "eventTime": now_micro(),
                       "action": "Binding", "reportingComponent": "default-scheduler",
                       "reportingInstance": "default-scheduler-fake"})
        else:
            ev.update({"source": {"component": "kubelet", "host": self.node}, "firstTimestamp": ts,
                       "lastTimestamp": ts, "count": 1, "eventTime": None, "reportingComponent": "kubelet",
                       "reportingInstance": self.node})
        try:
            self.store.create(EVENTS, meta["namespace"], ev, internal=True)
        except ApiError:
            pass

    def _lifecycle(self, run):
        try:
            self._script(run)
        except Exception as e:   # a bug here must be visible in the test output, not a silent stuck pod
            import traceback
            traceback.print_exc()
            print(f"fake kubelet: pod {run.ns}/{run.name}: {e!r}", flush=True)

    def _script(self, run):
        cfg = self.config_for(run.ns, run.name)
        if self._sleep(run, cfg["schedule_delay"] * 1.0):
            return
        pod = self._pod(run)
        if not pod or pod["metadata"].get("deletionTimestamp"):
            return
        if cfg["unschedulable"]:
            self._unschedulable(run, "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are "
                                "available: 1 No preemption victims found for incoming pod.")
            return
        # Volumes: a missing claim, or one that cannot bind (rule pvc_pending), keeps the pod unschedulable
        # (retried, as the scheduler does); otherwise Pending claims are bound now (WaitForFirstConsumer).
        told = False
        while True:
            why = self._claims_unready(run, pod, cfg)
            if not why:
                break
            if not told:
                self._unschedulable(run, why)
                told = True
            if self._sleep(run, 0.5):
                return
        pod = self._pod(run)
        if not pod or pod["metadata"].get("deletionTimestamp"):
            return

        def bind(p):
            p["spec"]["nodeName"] = self.node
            p["status"]["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                          "lastTransitionTime": now_rfc3339()}]
        pod = self._mutate(run, bind)
        if not pod:
            return
        self.event(pod, "Scheduled", f"Successfully assigned {run.ns}/{run.name} to {self.node}", scheduler=True)
        containers = pod["spec"]["containers"]
        main = containers[0]
        if cfg["multi_attach"]:
            vols = [v["name"] for v in pod["spec"].get("volumes", []) if "persistentVolumeClaim" in v]
            self.event(pod, "FailedAttachVolume", f'Multi-Attach error for volume "{vols[0] if vols else "pvc"}" '
                       "Volume is already used by pod(s) other-pod", "Warning")
            return
        run.ip = self._alloc_ip()

        def sandbox(p):
            t = now_rfc3339()
            st = p["status"]
            st.update({"hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}], "podIP": run.ip,
                       "podIPs": [{"ip": run.ip}], "startTime": t})
            st["conditions"] = [
                {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": t},
                {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": t},
                {"type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": t,
                 "reason": "ContainersNotReady", "message": "containers with unready status: [" +
                 " ".join(c["name"] for c in containers) + "]"},
                {"type": "ContainersReady", "status": "False", "lastProbeTime": None, "lastTransitionTime": t,
                 "reason": "ContainersNotReady"},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": t}]
            # Init containers are never run here (z2jh's is an iptables rule on the host): they "complete".
            if p["spec"].get("initContainers"):
                st["initContainerStatuses"] = [
                    {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": True, "restartCount": 0,
                     "started": False, "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                                                "startedAt": t, "finishedAt": t}}}
                    for c in p["spec"]["initContainers"]]
            st["containerStatuses"] = [
                {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "restartCount": 0,
                 "started": False, "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}
                for c in containers]
        pod = self._mutate(run, sandbox)
        if not pod:
            return
        image = main.get("image", "")
        self.event(pod, "Pulling", f'Pulling image "{image}"', container=main["name"])
        if self._sleep(run, cfg["pull_delay"]):
            return
        if cfg["image_pull_error"]:
            self.event(pod, "Failed", f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to '
                       f'pull and unpack image "{image}": not found (fake kubelet rule)', "Warning",
                       container=main["name"])
            self.event(pod, "Failed", "Error: ErrImagePull", "Warning", container=main["name"])
            self._set_waiting(run, main["name"], "ErrImagePull", f'failed to pull image "{image}"')
            if self._sleep(run, cfg["pull_delay"]):
                return
            pod = self._pod(run)
            if pod:
                self.event(pod, "BackOff", f'Back-off pulling image "{image}"', "Normal", container=main["name"])
            self._set_waiting(run, main["name"], "ImagePullBackOff", f'Back-off pulling image "{image}"')
            return
        self.event(pod, "Pulled", f'Successfully pulled image "{image}" in {cfg["pull_delay"]:.3f}s '
                   f'({cfg["pull_delay"]:.3f}s including waiting). Image size: 1000000 bytes.', container=main["name"])
        self.event(pod, "Created", f"Created container: {main['name']}", container=main["name"])
        if cfg["mode"] == "run":
            err = self._start_process(run, pod, main, cfg)
            if err:
                self.event(pod, "Failed", f"Error: {err}", "Warning", container=main["name"])
                self._set_terminated(run, 128, "StartError", err)
                return
        self.event(pod, "Started", f"Started container {main['name']}", container=main["name"])
        probe = main.get("readinessProbe")
        self._set_running(run, ready=probe is None)
        if probe is not None:
            threading.Thread(target=self._probe_loop, args=(run, main, probe), daemon=True).start()
        if run.proc is not None:
            self._watch_process(run, main, cfg)

    def _unschedulable(self, run, msg):
        def f(p):
            p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                          "message": msg, "lastProbeTime": None, "lastTransitionTime": now_rfc3339()}]
        pod = self._mutate(run, f)
        if pod:
            self.event(pod, "FailedScheduling", msg, "Warning", scheduler=True)

    def _claims_unready(self, run, pod, cfg):
        for v in pod["spec"].get("volumes") or []:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            pvc = self.store.find(PVCS, run.ns, claim)
            if pvc is None:
                return (f'0/1 nodes are available: persistentvolumeclaim "{claim}" not found. preemption: 0/1 nodes '
                        "are available: 1 Preemption is not helpful for scheduling.")
            if (pvc.get("status") or {}).get("phase") == "Bound":
                continue
            if cfg["pvc_pending"]:
                return ("0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 "
                        "nodes are available: 1 Preemption is not helpful for scheduling.")

            def bind(o):
                o.setdefault("spec", {})["volumeName"] = "pvc-" + o["metadata"]["uid"]
                o["status"] = {"phase": "Bound", "accessModes": o["spec"].get("accessModes", ["ReadWriteOnce"]),
                               "capacity": {"storage": ((o["spec"].get("resources") or {}).get("requests") or {})
                                            .get("storage", "1Gi")}}
            try:
                self.store.mutate(PVCS, run.ns, claim, bind)
            except ApiError:
                return f'persistentvolumeclaim "{claim}" not found'
        return None

    def _set_waiting(self, run, cname, reason, message):
        def f(p):
            for cs in p["status"].get("containerStatuses", []):
                if cs["name"] == cname:
                    cs["state"] = {"waiting": {"reason": reason, "message": message}}
        self._mutate(run, f)

    def _set_running(self, run, ready):
        def f(p):
            t = now_rfc3339()
            p["status"]["phase"] = "Running"
            for c in p["status"]["conditions"]:
                if c["type"] in ("Ready", "ContainersReady"):
                    c["status"] = "True" if ready else "False"
                    if ready:
                        c.pop("reason", None)
                        c.pop("message", None)
                    c["lastTransitionTime"] = t
            for cs in p["status"]["containerStatuses"]:
                cs.update({"ready": ready, "started": True,
                           "containerID": f"containerd://{uuid.uuid5(uuid.NAMESPACE_OID, run.uid + cs['name']).hex}"})
                cs["state"] = {"running": {"startedAt": cs.get("state", {}).get("running", {}).get("startedAt", t)}}
        self._mutate(run, f)

    def _set_terminated(self, run, code, reason, message=None, pod_reason=None, pod_message=None):
        def f(p):
            t = now_rfc3339()
            st = p["status"]
            st["phase"] = "Succeeded" if code == 0 and not pod_reason else "Failed"
            if pod_reason:
                st["reason"], st["message"] = pod_reason, pod_message
            for c in st.get("conditions", []):
                if c["type"] in ("Ready", "ContainersReady"):
                    c.update({"status": "False", "reason": "PodCompleted" if code == 0 else "ContainersNotReady",
                              "lastTransitionTime": t})
            for cs in st.get("containerStatuses", []):
                started = cs.get("state", {}).get("running", {}).get("startedAt", t)
                term = {"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": t}
                if message:
                    term["message"] = message
                if cs.get("containerID"):
                    term["containerID"] = cs["containerID"]
                cs.update({"ready": False, "started": False, "state": {"terminated": term}})
        self._mutate(run, f)

    # ---- processes -----------------------------------------------------------------------
    def _env(self, pod, c, run, cfg):
        ns = pod["metadata"]["namespace"]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOSTNAME": pod["metadata"]["name"],
               "LANG": "C.UTF-8", "KUBERNETES_SERVICE_HOST": self.api_host,
               "KUBERNETES_SERVICE_PORT": str(self.api_port), "KUBERNETES_SERVICE_PORT_HTTPS": str(self.api_port),
               "KUBERNETES_PORT": f"tcp://{self.api_host}:{self.api_port}"}
        if pod["spec"].get("enableServiceLinks", True):
            snap, _ = self.store.snapshot(SERVICES, ns)
            for svc in snap:
                spec = svc.get("spec", {})
                if not spec.get("clusterIP") or spec.get("clusterIP") == "None" or not spec.get("ports"):
                    continue
                n = svc["metadata"]["name"].upper().replace("-", "_")
                env[f"{n}_SERVICE_HOST"] = spec["clusterIP"]
                env[f"{n}_SERVICE_PORT"] = str(spec["ports"][0]["port"])
                for p in spec["ports"]:
                    if p.get("name"):
                        env[f"{n}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(p["port"])
        for ef in c.get("envFrom", []):
            src = self._kv(ns, ef.get("configMapRef") and CONFIGMAPS or SECRETS,
                           (ef.get("configMapRef") or ef.get("secretRef") or {}).get("name"))
            for k, v in src.items():
                env[ef.get("prefix", "") + k] = v
        for e in c.get("env", []):
            if "valueFrom" in e:
                env[e["name"]] = self._value_from(pod, e["valueFrom"], run)
            else:
                env[e["name"]] = _expand(str(e.get("value", "")), env)
        if cfg["wildcard_to_pod_ip"]:
            env = {k: v.replace("0.0.0.0", run.ip) for k, v in env.items()}
        return env

    def _kv(self, ns, res, name):
        obj = self.store.find(res, ns, name) if name else None
        if not obj:
            return {}
        out = dict(obj.get("data") or {})
        if res is SECRETS:
            out = {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in out.items()}
            out.update(obj.get("stringData") or {})
        return out

    def _value_from(self, pod, vf, run):
        if "fieldRef" in vf:
            path = vf["fieldRef"].get("fieldPath", "")
            m = re.fullmatch(r"metadata\.(labels|annotations)\['(.*)'\]", path)
            if m:
                return (pod["metadata"].get(m.group(1)) or {}).get(m.group(2), "")
            return {"metadata.name": pod["metadata"]["name"], "metadata.namespace": pod["metadata"]["namespace"],
                    "metadata.uid": pod["metadata"]["uid"], "status.podIP": run.ip, "status.hostIP": "127.0.0.1",
                    "spec.nodeName": self.node,
                    "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default")}.get(path, "")
        for ref, res in (("secretKeyRef", SECRETS), ("configMapKeyRef", CONFIGMAPS)):
            if ref in vf:
                return self._kv(pod["metadata"]["namespace"], res, vf[ref].get("name")).get(vf[ref].get("key"), "")
        return ""

    def _start_process(self, run, pod, c, cfg):
        env = self._env(pod, c, run, cfg)
        argv = [_expand(a, env) for a in (c.get("command") or []) + (c.get("args") or [])]
        if cfg["wildcard_to_pod_ip"]:
            argv = [a.replace("0.0.0.0", run.ip) for a in argv]
        if not argv:
            return ("failed to create containerd task: the fake kubelet has no image entrypoints: "
                    "give the container a command or args")
        exe = shutil.which(argv[0], path=env["PATH"])
        if not exe:
            return (f'failed to create containerd task: exec: "{argv[0]}": executable file not found in $PATH')
        poddir = os.path.join(self.workdir, f"{run.ns}_{run.name}_{run.uid[:8]}")
        os.makedirs(poddir, exist_ok=True)
        env.setdefault("HOME", poddir)
        cwd = c.get("workingDir") if c.get("workingDir") and os.path.isdir(c["workingDir"]) else poddir
        run.log = os.path.join(poddir, "container.log")
        ids = {}
        # securityContext.runAsUser/runAsGroup (container over pod), as the runtime would apply them. Only
        # possible when we are root; then the process really runs unprivileged (jupyterhub-singleuser refuses
        # to run as root, KubeSpawner sets runAsUser 1000).
        sc = {**(pod["spec"].get("securityContext") or {}), **(c.get("securityContext") or {})}
        if os.geteuid() == 0 and sc.get("runAsUser") not in (None, 0):
            ids = {"user": int(sc["runAsUser"]),
                   "group": int(sc.get("runAsGroup") or pod["spec"].get("securityContext", {}).get("fsGroup") or 100)}
            os.chown(poddir, ids["user"], ids["group"])
            # The process must be able to reach its HOME/cwd through the work dir's parents.
            os.chmod(self.workdir, 0o755)
        with self.lock, open(run.log, "ab") as log:
            if self.stopped or run.gone.is_set():
                return "the fake kubelet is stopping"
            run.proc = subprocess.Popen([exe] + argv[1:], env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True, **ids)
        return None

    def _watch_process(self, run, main, cfg):
        """Waits for the process; restarts it per restartPolicy with CrashLoopBackOff, as the kubelet does."""
        restarts = 0
        while True:
            code = run.proc.wait()
            if run.gone.is_set():
                return
            pod = self._pod(run)
            if not pod or pod["metadata"].get("deletionTimestamp"):
                return
            if run.kill_reason:
                (reason, code), run.kill_reason = run.kill_reason, None
            else:
                reason = "Completed" if code == 0 else "Error"
                if code < 0:
                    code = 128 - code
            policy = pod["spec"].get("restartPolicy", "Always")
            if not (policy == "Always" or (policy == "OnFailure" and code != 0)):
                self._set_terminated(run, code, reason)
                return
            restarts += 1
            backoff = min(cfg["restart_backoff"] * 2 ** (restarts - 1), 300 * cfg["restart_backoff"])
            self._set_backoff(run, code, reason, restarts)
            self.event(pod, "BackOff", f"Back-off restarting failed container {main['name']} in pod "
                       f"{run.name}_{run.ns}({run.uid})", "Warning", container=main["name"])
            if self._sleep(run, backoff):
                return
            pod = self._pod(run)
            if not pod or pod["metadata"].get("deletionTimestamp"):
                return
            err = self._start_process(run, pod, main, cfg)
            if err:
                self._set_terminated(run, 128, "StartError", err)
                return
            self.event(pod, "Started", f"Started container {main['name']}", container=main["name"])
            self._set_running(run, ready=main.get("readinessProbe") is None)

    def _set_backoff(self, run, code, reason, restarts):
        def f(p):
            t = now_rfc3339()
            for c in p["status"].get("conditions", []):
                if c["type"] in ("Ready", "ContainersReady"):
                    c.update({"status": "False", "reason": "ContainersNotReady", "lastTransitionTime": t})
            for cs in p["status"].get("containerStatuses", [])[:1]:
                started = cs.get("state", {}).get("running", {}).get("startedAt", t)
                cs["lastState"] = {"terminated": {"exitCode": code, "reason": reason, "startedAt": started,
                                                  "finishedAt": t, "containerID": cs.get("containerID", "")}}
                cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": f"back-off restarting failed "
                                           f"container={cs['name']} pod={run.name}_{run.ns}({run.uid})"}}
                cs.update({"ready": False, "started": False, "restartCount": restarts})
        self._mutate(run, f)

    def _probe_loop(self, run, c, probe):
        scale = self.time_scale
        if self._sleep(run, probe.get("initialDelaySeconds", 0) * scale):
            return
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
        while not run.gone.is_set():
            ok = False
            try:
                if "httpGet" in probe:
                    h = probe["httpGet"]
                    port = ports.get(h["port"], h["port"])
                    url = f"{h.get('scheme', 'HTTP').lower()}://{run.ip}:{port}{h.get('path', '/')}"
                    with urllib.request.urlopen(url, timeout=probe.get("timeoutSeconds", 1)) as r:
                        ok = 200 <= r.status < 400
                elif "tcpSocket" in probe:
                    port = ports.get(probe["tcpSocket"]["port"], probe["tcpSocket"]["port"])
                    socket.create_connection((run.ip, int(port)), timeout=1).close()
                    ok = True
            except Exception:
                ok = False
            if ok:
                self._set_running(run, ready=True)
                return
            if self._sleep(run, probe.get("periodSeconds", 10) * scale):
                return

    # ---- termination ---------------------------------------------------------------------
    def _kill(self, run, grace):
        proc = run.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM if grace > 0 else signal.SIGKILL)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace if grace > 0 else 5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)

    def _terminate(self, run, key, uid, grace, cfg):
        pod = self.store.find(PODS, *key)
        if pod:
            for c in pod["spec"]["containers"][:1]:
                self.event(pod, "Killing", f"Stopping container {c['name']}", container=c["name"])
        if cfg["hang_delete"]:
            return
        if run is not None:
            run.gone.set()
            if run.proc is not None:
                self._kill(run, grace)
            else:
                time.sleep(min(grace, 0.2))
        else:
            time.sleep(min(grace, 0.2))
        self.store.finalize_delete(PODS, key[0], key[1], uid)

    # ---- faults driven through the switchboard -------------------------------------------
    def fault(self, ns, name, action, exit_code=None):
        with self.lock:
            run = self.runs.get((ns, name))
        if run is None:
            raise KeyError(f"no pod {ns}/{name} known to the kubelet")
        if action == "oom":
            self._kill_with(run, ("OOMKilled", 137))
            pod = self._pod(run)
            if pod:
                self.event(pod, "OOMKilling", "Memory cgroup out of memory: Killed process (fake)", "Warning")
        elif action == "crash":
            self._kill_with(run, ("Error", int(exit_code if exit_code is not None else 1)))
        elif action == "evict":
            run.gone.set()
            if run.proc is not None:
                run.kill_reason = ("ContainerStatusUnknown", 137)
                self._kill(run, 0)
            msg = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi."
            self._set_terminated(run, 137, "ContainerStatusUnknown", "The container could not be located when the "
                                 "pod was terminated", pod_reason="Evicted", pod_message=msg)
            pod = self._pod(run)
            if pod:
                self.event(pod, "Evicted", msg, "Warning")
        else:
            raise KeyError(f"unknown kubelet fault {action!r} (oom, crash, evict)")

    def _kill_with(self, run, reason):
        run.kill_reason = reason
        if run.proc is not None:
            self._kill(run, 0)      # _watch_process reports kill_reason
        else:
            self._set_terminated(run, reason[1], reason[0])

    def pod_log(self, ns, name):
        with self.lock:
            run = self.runs.get((ns, name))
        if run is None or not run.log or not os.path.exists(run.log):
            return ""
        with open(run.log, "rb") as f:
            return f.read()[-1_000_000:].decode("utf-8", "replace")

    def stop(self):
        with self.lock:
            self.stopped = True
            runs = list(self.runs.values())
            self.runs.clear()
        for run in runs:
            run.gone.set()
            self._kill(run, 0)


def _expand(s, env):
    """Kubernetes $(VAR) expansion: defined variables are replaced, $$ escapes, unknown ones stay."""
    def rep(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", rep, s)
