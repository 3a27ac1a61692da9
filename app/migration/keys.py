"""The workspace's SSH key pair: ComputeHub's identity on its instances.

One ed25519 pair per workspace (``user:<id>`` today). The public line is installed at launch
(``LaunchRequest.ssh_public_key``); the private key is stored only encrypted with the keyring,
its associated data naming the workspace, so a ciphertext copied to another workspace's row does
not decrypt. Storage (not built yet): a ``workspace_ssh_keys`` table, one row per workspace with
``public_key``, ``private_key_encrypted`` and ``created_at``; ``computehub keys rotate`` must then
re-encrypt it like provider keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncssh

from app.security.keyring import Keyring

_WORKSPACE = re.compile(r"^[a-z]+:[0-9]{1,18}$")


def ssh_key_aad(workspace: str) -> str:
    return f"computehub:ssh-key:workspace={workspace}"


@dataclass(frozen=True)
class WorkspaceKey:
    workspace: str
    public_line: str
    """``ssh-ed25519 AAAA... computehub-user-7``: the authorized_keys line to install at launch."""
    private_key_encrypted: str

    def __repr__(self) -> str:  # the ciphertext is not secret, but it has no place in logs either
        return f"WorkspaceKey({self.workspace!r}, {self.public_line[:40]!r}...)"


def _check_workspace(workspace: str) -> str:
    if not _WORKSPACE.match(workspace):
        raise ValueError(f"not a workspace id: {workspace!r}")
    return workspace


def generate_workspace_key(keyring: Keyring, workspace: str) -> WorkspaceKey:
    _check_workspace(workspace)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"computehub-{workspace.replace(':', '-')}")
    private = key.export_private_key("openssh").decode()
    public = key.export_public_key("openssh").decode().strip()
    return WorkspaceKey(workspace, public, keyring.encrypt(private, ssh_key_aad(workspace)))


def load_private_key(keyring: Keyring, key: WorkspaceKey) -> asyncssh.SSHKey:
    """Decrypted in memory only, to open one connection (raises ``DecryptionFailed`` if the row
    was moved to another workspace or tampered with)."""
    plaintext = keyring.decrypt(key.private_key_encrypted, ssh_key_aad(_check_workspace(key.workspace)))
    return asyncssh.import_private_key(plaintext)
