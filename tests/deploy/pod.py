"""A pod spec from a rendering, run as a podman container with the same user, read-only root,
capabilities, memory limit, environment and volumes, on the host network (where the test servers listen)."""

import os
import shutil
from pathlib import Path


def _secret_value(docs: list[dict], name: str, key: str):
    for doc in docs:
        if doc["kind"] == "Secret" and doc["metadata"]["name"] == name:
            return doc.get("stringData", {}).get(key)
    return None


def _configmap_data(docs: list[dict], name: str, extra: dict) -> dict:
    for doc in docs:
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == name:
            return doc["data"]
    if name in extra:
        return extra[name]
    raise AssertionError(f"ConfigMap {name} is neither in the rendering nor given by the test")


def _readable_folder(folder: Path, files: dict) -> Path:
    """A folder the container's user can read: pytest's temporary folders are root-only (0700)."""
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    for name, text in files.items():
        path = folder / name
        path.write_text(text)
        path.chmod(0o644)
    return folder


UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 10**3, "M": 10**6, "G": 10**9, "": 1}


def quantity_bytes(text: str) -> int:
    """A Kubernetes memory quantity ("1Gi", "512Mi", "500M") in bytes."""
    number = text.rstrip("KMGi")
    return int(float(number) * UNITS[text[len(number) :]])


def podman_run_args(
    docs: list[dict],
    pod_template: dict,
    container_name: str,
    workdir: Path,
    *,
    configmaps: dict | None = None,
    claims: dict | None = None,
    hosts: dict | None = None,
) -> tuple[list[str], list[str]]:
    """`podman run` options and command line for one container of a pod template.

    configmaps: data of ConfigMaps the rendering refers to but does not hold (name -> {key: text});
    claims: host folders standing for PersistentVolumeClaims (name -> Path); hosts: Service names
    and the address they resolve to, as the cluster's DNS would.
    """
    spec = pod_template["spec"]
    container = next(c for c in spec["containers"] if c["name"] == container_name)
    pod_sc, sc = spec.get("securityContext", {}), container.get("securityContext", {})
    user, group = sc.get("runAsUser", pod_sc.get("runAsUser")), sc.get("runAsGroup", pod_sc.get("runAsGroup"))
    args = ["--rm", "--network", "host", "--user", f"{user}:{group}"]
    if sc.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    if "ALL" in sc.get("capabilities", {}).get("drop", []):
        args.append("--cap-drop=ALL")
    if sc.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    memory = container.get("resources", {}).get("limits", {}).get("memory")
    if memory:
        args += ["--memory", str(quantity_bytes(memory))]  # the limit the kernel enforces, as the kubelet sets it
    for host, address in (hosts or {}).items():
        args += ["--add-host", f"{host}:{address}"]
    for item in container.get("env", []):
        if "value" in item:
            args += ["-e", f"{item['name']}={item['value']}"]
            continue
        ref = item["valueFrom"]["secretKeyRef"]
        value = _secret_value(docs, ref["name"], ref["key"])
        assert value is not None or ref.get("optional"), f"Secret {ref['name']} has no {ref['key']}"
        if value is not None:
            args += ["-e", f"{item['name']}={value}"]
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        volume, path = volumes[mount["name"]], mount["mountPath"]
        if "emptyDir" in volume:
            args += ["--tmpfs", f"{path}:rw,mode=1777"]
        elif "configMap" in volume:
            data = _configmap_data(docs, volume["configMap"]["name"], configmaps or {})
            items = volume["configMap"].get("items") or [{"key": key, "path": key} for key in data]
            folder = _readable_folder(
                workdir / f"configmap-{mount['name']}", {item["path"]: data[item["key"]] for item in items}
            )
            args += ["-v", f"{folder}:{path}:ro"]
        elif "persistentVolumeClaim" in volume:
            folder = (claims or {})[volume["persistentVolumeClaim"]["claimName"]]
            # fsGroup: the volume belongs to the pod's group.
            os.chown(folder, user, pod_sc.get("fsGroup", group))
            args += ["-v", f"{folder}:{path}"]
        else:
            raise AssertionError(f"volume kind not handled: {volume}")
    return args, [*container.get("command", []), *container.get("args", [])]


def podman() -> str | None:
    return shutil.which("podman")
