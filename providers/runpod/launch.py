"""What `POST /v2/pods` needs, built from a LaunchRequest and our offer's instance_type.

- GPU and cloud come from the offer's instance_type ``"<gpu id>|secure"`` (see ``offers.py``);
  the region is the cloud ("secure-cloud"), or a data center id to pin the pod there.
- One GPU: our RunPod offers are priced per single GPU, so that is what the user chose.
- SSH: ``startSsh`` has RunPod inject the account's registered keys as ``PUBLIC_KEY``, unless we
  set ``PUBLIC_KEY`` ourselves, which we do when the user pasted a key; ``22/tcp`` is published
  so the pod gets a direct (public IP) SSH endpoint.
- Spot: v2's CreatePodRequest has no interruptible option (it rejects unknown fields), so
  spot launches are refused before any call.
"""

from __future__ import annotations

from typing import Any

from providers.base import LaunchRequest
from providers.errors import InvalidRequest, Unsupported
from providers.runpod.offers import CLOUDS
from providers.runpod.pods import CLIENT_TOKEN_ENV

NAME = "runpod"
DEFAULT_IMAGE = "runpod/pytorch:1.0.2-cu1281-torch280-ubuntu2404"
"""RunPod's own PyTorch image (the API reference's example), used when the launch names none."""
_CLOUD_BY_OFFER_NAME = {cloud.name: cloud for cloud in CLOUDS}
_CLOUD_REGIONS = {cloud.region for cloud in CLOUDS}


def pod_body(request: LaunchRequest) -> dict[str, Any]:
    if request.spot:
        raise Unsupported("RunPod's REST API cannot launch spot (interruptible) pods", provider=NAME)
    gpu_id, _, cloud_name = request.instance_type.rpartition("|")
    cloud = _CLOUD_BY_OFFER_NAME.get(cloud_name)
    if not gpu_id or cloud is None:
        raise InvalidRequest(f"not a RunPod offer: {request.instance_type!r}", provider=NAME)
    body: dict[str, Any] = {
        "name": request.name,
        "image": request.image or DEFAULT_IMAGE,
        "gpu": {"id": gpu_id, "count": 1},
        "cloud": cloud.name.upper(),
        "ports": ["22/tcp"],
        "startSsh": True,
    }
    if request.region and request.region not in _CLOUD_REGIONS:
        body["dataCenterIds"] = [request.region]
    env = {}
    if request.client_token:
        env[CLIENT_TOKEN_ENV] = request.client_token
    if request.ssh_public_key:
        env["PUBLIC_KEY"] = request.ssh_public_key
    if env:
        body["env"] = env
    if request.disk_gb:
        body["disk"] = request.disk_gb  # container disk, GB
    return body
