"""Launch details of the newer providers that the recorded lifecycles do not pin on their own."""

from __future__ import annotations

import pytest

from providers.base import LaunchRequest
from providers.cudo.launch import vm_id
from providers.digitalocean.launch import default_image, droplet_name, fingerprint
from providers.errors import InvalidRequest
from providers.fluidstack.instances import name_with_token as fluidstack_name, split_name as fluidstack_split
from providers.hotaisle.instances import description_with_token as hotaisle_label, split_description as hotaisle_split
from providers.primeintellect.instances import name_with_token as pi_name, split_name as pi_split
from providers.shadeform.instances import client_token_of as shadeform_token, token_tag as shadeform_tag
from providers.tensordock.instances import name_with_token as tensordock_name, split_name as tensordock_split

# A throwaway public key and what `ssh-keygen -l -E md5 -f key.pub` printed for it.
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJSZZ5hBRzYOf97iHfFF9pIgOGRVZ4QiEe5W8gnsAOQp dev@laptop"
SSH_KEYGEN_MD5 = "d6:00:8d:de:95:f9:64:e1:45:23:1d:46:16:73:00:a7"
TOKEN = "0123456789abcdef0123456789abcdef"


def test_the_digitalocean_fingerprint_is_the_one_ssh_keygen_shows():
    assert fingerprint(PUBLIC_KEY) == SSH_KEYGEN_MD5
    assert fingerprint(PUBLIC_KEY.replace("dev@laptop", "other comment")) == SSH_KEYGEN_MD5


@pytest.mark.parametrize("key", ["", "ssh-ed25519", "ssh-ed25519 not*base64", "ssh-ed25519 ===="])
def test_a_key_that_is_not_an_openssh_public_key_is_refused(key):
    with pytest.raises(InvalidRequest):
        fingerprint(key)


def test_droplet_names_and_images():
    assert droplet_name("train_1 box") == "train-1-box"  # Droplet names are hostnames
    assert droplet_name("__") == "computehub"
    assert default_image("gpu-h100x8-640gb") == "gpu-h100x8-base"
    assert default_image("gpu-h100x1-80gb") == "gpu-h100x1-base"
    assert default_image("gpu-mi300x1-192gb") == "gpu-amd-base"


def test_cudo_vm_ids_are_valid_and_stable_for_one_launch():
    request = LaunchRequest(name="Train_1.Box", instance_type="m/g", region="dc", client_token=TOKEN)
    assert vm_id(request) == "train-1-box-01234567"
    assert vm_id(request) == vm_id(request)  # a retried create reuses the id: CUDO refuses a duplicate
    assert vm_id(LaunchRequest(name="x" * 90, instance_type="m/g", region="dc", client_token=TOKEN)).endswith(
        "-01234567")
    assert len(vm_id(LaunchRequest(name="x" * 90, instance_type="m/g", region="dc", client_token=TOKEN))) <= 60


@pytest.mark.parametrize(("with_token", "split"), [(tensordock_name, tensordock_split), (fluidstack_name, fluidstack_split),
                                                   (hotaisle_label, hotaisle_split), (pi_name, pi_split)])
def test_the_client_token_in_a_name_reads_back(with_token, split):
    assert split(with_token("train-1", TOKEN)) == ("train-1", TOKEN)
    assert split(with_token("train-1", "")) == ("train-1", "")
    assert split("my-computehub-box") == ("my-computehub-box", "")  # only our exact suffix counts


def test_the_shadeform_client_token_is_read_back_from_its_own_tag_only():
    assert shadeform_token(["team-ml", shadeform_tag(TOKEN)]) == TOKEN
    assert shadeform_token(["team-ml", "computehub-ct-not-a-token"]) == ""
    assert shadeform_token(None) == ""
