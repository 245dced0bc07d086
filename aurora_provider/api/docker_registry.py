"""Pinning a Docker image by digest through the Docker registry HTTP API v2.

``GET /v2/NAME/manifests/TAG``, accepting Docker's v2 manifest and manifest list and OCI's
manifest and index; the digest is the answer's ``Docker-Content-Digest`` header (else, as the
API defines it, the sha256 of the manifest's bytes). A registry that wants a token (Docker Hub
does, even for public images) answers 401 with ``WWW-Authenticate: Bearer realm=...,
service=...,scope=...``: the token is fetched from the realm with the challenge's parameters
and the request is sent again with it. No credentials are sent: private repositories are
out of reach, as they were for Aurora's client.

The pinned reference is written as Aurora's client wrote it: ``NAME@sha256:...`` on Docker
Hub, ``HOST[:PORT]/NAME@sha256:...`` on any other registry. Docker Hub keeps its official
images under ``library/``, so a name without a slash is asked for as ``library/NAME`` there.

:func:`docker_image_helper` makes this the binding helper of ``{{docker.image[NAME][TAG]}}``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from aurora_provider.config.binding_helpers import BindingHelper, HelperRef
from aurora_provider.errors import AuroraError

DOCKER_HUB = "https://registry-1.docker.io"
DOCKER_HUB_HOSTS = frozenset({"registry-1.docker.io", "index.docker.io"})
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
PINNED_FORM = "IMAGE@sha256:DIGEST"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(AuroraError):
    """A registry cannot pin an image; ``str(e)`` is one line naming the registry and image."""


@dataclass(frozen=True)
class DockerRegistry:
    """One registry, by its URL (``https://registry.example.com:5000``).

    :param timeout: seconds for each request (connect and read).
    :param transport: an httpx transport, for callers that route requests themselves.
    """

    url: str = DOCKER_HUB
    timeout: float = 10.0
    transport: httpx.BaseTransport | None = None

    @property
    def is_docker_hub(self) -> bool:
        return urlsplit(self.url).netloc in DOCKER_HUB_HOSTS

    def pin(self, name: str, tag: str) -> str:
        """``name:tag`` as a reference pinned by digest, e.g. ``reg:5000/app@sha256:...``."""
        image = f"{name}:{tag}"
        repository = f"library/{name}" if self.is_docker_hub and "/" not in name else name
        manifest_url = f"{self.url.rstrip('/')}/v2/{repository}/manifests/{tag}"
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        with httpx.Client(timeout=self.timeout, transport=self.transport,
                          follow_redirects=True) as http:
            response = self._get(http, manifest_url, headers, image)
            if response.status_code == 401:
                headers["Authorization"] = f"Bearer {self._token(http, response, image)}"
                response = self._get(http, manifest_url, headers, image)
        digest = self._digest(response, image)
        pinned = f"{name}@{digest}"
        return pinned if self.is_docker_hub else f"{urlsplit(self.url).netloc}/{pinned}"

    def _get(self, http: httpx.Client, url: str, headers: dict[str, str],
             image: str) -> httpx.Response:
        try:
            return http.get(url, headers=headers)
        except httpx.HTTPError as e:
            raise RegistryError(f"Docker registry {self.url} cannot be reached for {image} "
                                f"({type(e).__name__}: {e})") from e

    def _token(self, http: httpx.Client, challenged: httpx.Response, image: str) -> str:
        """Answer a Bearer challenge: the token the challenge's realm hands out."""
        challenge = challenged.headers.get("WWW-Authenticate", "")
        scheme, _, params_text = challenge.partition(" ")
        params = dict(_CHALLENGE_PARAM.findall(params_text))
        realm = params.pop("realm", None)
        if scheme.lower() != "bearer" or not realm:
            raise RegistryError(f"Docker registry {self.url} wants credentials for {image} "
                                f"(WWW-Authenticate: {challenge or 'none'}); none are sent")
        params.pop("error", None)
        try:
            answer = http.get(realm, params=params)
        except httpx.HTTPError as e:
            raise RegistryError(f"token service {realm} of Docker registry {self.url} cannot "
                                f"be reached for {image} ({type(e).__name__}: {e})") from e
        body = _json_object(answer)
        token = body.get("token") or body.get("access_token")  # the token spec allows both
        if answer.status_code != 200 or not isinstance(token, str) or not token:
            raise RegistryError(f"token service {realm} of Docker registry {self.url} gave no "
                                f"token for {image} (HTTP {answer.status_code})")
        return token

    def _digest(self, response: httpx.Response, image: str) -> str:
        where = f"Docker registry {self.url}"
        if response.status_code == 404:
            raise RegistryError(f"{where} has no image {image} (HTTP 404{_codes(response)})")
        if response.status_code == 401:
            raise RegistryError(f"{where} refused {image} even with a token (HTTP 401"
                                f"{_codes(response)}): a private repository?")
        if response.status_code != 200:
            raise RegistryError(f"{where} answered HTTP {response.status_code} for {image}"
                                f"{_codes(response)}")
        manifest = _json_object(response)
        if not manifest:
            raise RegistryError(f"{where} answered {image} with a body that is not a JSON "
                                "manifest")
        media_type = manifest.get("mediaType") or response.headers.get("Content-Type", "")
        if manifest.get("schemaVersion") != 2 or media_type.split(";")[0] not in MANIFEST_TYPES:
            raise RegistryError(f"{where} answered {image} with no v2 or OCI manifest "
                                f"(media type {media_type or 'none'})")
        header = response.headers.get("Docker-Content-Digest")
        digest = header or f"sha256:{hashlib.sha256(response.content).hexdigest()}"
        if not _DIGEST.match(digest):
            raise RegistryError(f"{where} answered {image} with a malformed digest {digest!r}")
        return digest


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        value = json.loads(response.content)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _codes(response: httpx.Response) -> str:
    """The registry's own error codes (``MANIFEST_UNKNOWN``...), when it sent any."""
    errors = _json_object(response).get("errors")
    if not isinstance(errors, list):
        return ""
    codes = [str(e["code"]) for e in errors if isinstance(e, dict) and "code" in e]
    return f", {', '.join(codes)}" if codes else ""


def docker_image_helper(registry_for: Callable[[str], DockerRegistry]) -> BindingHelper:
    """The binding helper of ``{{docker.image[NAME][TAG]}}``.

    :param registry_for: the registry of a cluster, by the cluster's name.
    """

    def resolve(ref: HelperRef) -> str:
        if len(ref.path) != 3 or ref.path[0] != "image":
            raise RegistryError("the docker helper binds docker.image[NAME][TAG] only")
        _, name, tag = ref.path
        return registry_for(ref.cluster).pin(name, tag)

    return BindingHelper(resolve, PINNED_FORM)
