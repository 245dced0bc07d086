"""The ``ContainerInfo`` of a task's executor, as Aurora's scheduler built it.

Aurora put the container on the ``ExecutorInfo``, never on the ``TaskInfo``: Thermos runs in
it and starts the task's processes there.

* ``Docker(image, parameters)``: type ``DOCKER``, ``docker {image, parameters [{key,
  value}]}`` (the parameters' ``name`` becomes Mesos's ``key``); no network (Mesos's
  default, ``HOST``).
* ``Mesos(image=DockerImage(name, tag) | AppcImage(name, image_id), volumes)``: type
  ``MESOS`` with an empty ``mesos {}``, the job's volumes, then the image as a read-only
  volume at ``taskfs`` (the task's filesystem beside the executor's, which Thermos enters
  with the Mesos containerizer): ``{image {type DOCKER, docker {name: "NAME:TAG"}}}`` or
  ``{image {type APPC, appc {name, id}}}``.
* ``Mesos()`` without an image, or no container: no ``ContainerInfo`` at all (Aurora's
  ``configureTaskForImage`` returns none, so a volume there is not sent either).

A custom executor's ``volume_mounts`` come first in the volumes (of a Docker container too,
as Aurora); a job without a container gets a ``MESOS`` one holding just them, where Aurora
dropped them, so that mounts configured are never silently left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Where Aurora's scheduler mounted the image of a Mesos container, in the executor's sandbox.
TASK_FILESYSTEM_MOUNT_POINT = "taskfs"


def executor_container(container: Mapping[str, Any] | None,
                       mounts: Sequence[Mapping[str, str]] = ()) -> dict[str, Any] | None:
    """The executor's ContainerInfo for the job's ``task.container`` (its wire form), with a
    custom executor's volume ``mounts``."""
    volumes: list[dict[str, Any]] = [dict(m) for m in mounts]
    docker = (container or {}).get("docker")
    if docker:
        info: dict[str, Any] = {"type": "DOCKER", "docker": {
            "image": str(docker["image"]),
            "parameters": [{"key": str(p["name"]), "value": str(p["value"])}
                           for p in docker.get("parameters") or ()]}}
        if volumes:
            info["volumes"] = volumes
        return info
    mesos = (container or {}).get("mesos")
    if not mesos or not mesos.get("image"):
        return {"type": "MESOS", "mesos": {}, "volumes": volumes} if volumes else None
    volumes += [
        {"container_path": str(v["container_path"]), "host_path": str(v["host_path"]),
         "mode": str(v["mode"])} for v in mesos.get("volumes") or ()]
    volumes.append({"image": _image(mesos["image"]),
                    "container_path": TASK_FILESYSTEM_MOUNT_POINT, "mode": "RO"})
    return {"type": "MESOS", "mesos": {}, "volumes": volumes}


def _image(image: Mapping[str, Any]) -> dict[str, Any]:
    if "docker" in image:
        docker = image["docker"]
        return {"type": "DOCKER", "docker": {"name": f"{docker['name']}:{docker['tag']}"}}
    appc = image["appc"]
    return {"type": "APPC", "appc": {"name": str(appc["name"]), "id": str(appc["image_id"])}}
